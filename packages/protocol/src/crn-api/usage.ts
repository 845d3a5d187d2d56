/**
 * `GET /about/usage/system` (crn-api.md §3.1), as a scheduler reads it: what a CRN has free.
 * Lenient on what it does not read (aleph-vm versions differ), strict on what it does.
 */
import { z } from 'zod';

export const UsageSystemSchema = z.object({
  cpu: z.object({
    count: z.number().int().nonnegative(),
    load_average: z.object({ load1: z.number(), load5: z.number(), load15: z.number() }).optional(),
    core_frequencies: z.object({ min: z.number(), max: z.number() }).optional(),
  }),
  mem: z.object({ total_kB: z.number().nonnegative(), available_kB: z.number() }),
  disk: z.object({ total_kB: z.number().nonnegative().optional(), available_kB: z.number() }),
  period: z.object({ start_timestamp: z.string(), duration_seconds: z.number() }).optional(),
  properties: z
    .object({ cpu: z.object({ architecture: z.string().optional(), vendor: z.string().optional(), features: z.array(z.string()).optional() }).optional() })
    .optional(),
  gpu: z
    .object({
      devices: z.array(z.unknown()).optional(),
      available_devices: z.array(z.object({ device_id: z.string().optional() }).loose()).optional(),
    })
    .optional(),
  active: z.boolean().optional(),
});
export type UsageSystem = z.infer<typeof UsageSystemSchema>;

/**
 * What a CRN serves at `/about/usage/system`: aleph-vm's `MachineUsage`, every field present (the
 * Python SDK's `SystemUsage` requires `cpu.core_frequencies`, `period`, `properties`, `gpu`).
 * `UsageSystemSchema` above stays lenient: it reads other CRNs too.
 */
export const GpuDeviceSchema = z.looseObject({
  vendor: z.string(),
  model: z.string(),
  device_name: z.string(),
  device_class: z.string(),
  pci_host: z.string(),
  device_id: z.string(),
  compatible: z.boolean(),
});

export const SystemUsageAnswerSchema = z.strictObject({
  cpu: z.strictObject({
    count: z.number().int().positive(),
    load_average: z.strictObject({ load1: z.number(), load5: z.number(), load15: z.number() }),
    core_frequencies: z.strictObject({ min: z.number().nonnegative(), max: z.number().nonnegative() }),
  }),
  mem: z.strictObject({ total_kB: z.number().int().positive(), available_kB: z.number().int().nonnegative() }),
  disk: z.strictObject({ total_kB: z.number().int().positive(), available_kB: z.number().int().nonnegative() }),
  period: z.strictObject({ start_timestamp: z.string(), duration_seconds: z.number().nonnegative() }),
  properties: z.strictObject({ cpu: z.strictObject({ architecture: z.string(), vendor: z.string(), features: z.array(z.string()) }) }),
  gpu: z.strictObject({ devices: z.array(GpuDeviceSchema), available_devices: z.array(GpuDeviceSchema) }),
  active: z.boolean(),
});
export type SystemUsageAnswer = z.infer<typeof SystemUsageAnswerSchema>;
