/**
 * Owner-facing CRN operations as aleph-vm 1.14 answers them (`views/__init__.py`,
 * `views/operator.py`): resource reservation, the update notification, the log websocket frames.
 */
import { z } from 'zod';

export const RESERVE_RESOURCES_PATH = '/control/reserve_resources';

/** How long a reservation holds (aleph-vm: 60 s). */
export const RESERVATION_SECONDS = 60;

/** `POST /control/reserve_resources` → 200 `{"status": "reserved", "expires": <ISO date>}`. */
export const ReservationAnswerSchema = z.strictObject({ status: z.literal('reserved'), expires: z.string() });
export type ReservationAnswer = z.infer<typeof ReservationAnswerSchema>;

/** aleph-vm's 400 when a required resource (a GPU) cannot be held. */
export const ReservationRefusalSchema = z.strictObject({ status: z.literal('error'), error: z.string(), reason: z.string() });

/** `POST /control/machine/{ref}/update`: `{}` once applied, this while the VM is not up yet. */
export const UpdateAnswerSchema = z.union([z.strictObject({}), z.strictObject({ status: z.literal('ok'), msg: z.string() })]);
export type UpdateAnswer = z.infer<typeof UpdateAnswerSchema>;

/** The first frame a `stream_logs` client sends (browsers cannot set headers on websockets). */
export const StreamLogsAuthFrameSchema = z.looseObject({
  auth: z.looseObject({ 'X-SignedPubKey': z.unknown(), 'X-SignedOperation': z.unknown() }),
});

/** What the server sends on the log websocket. */
export const StreamLogsFrameSchema = z.union([
  z.strictObject({ status: z.enum(['connected']) }),
  z.strictObject({ status: z.literal('failed'), reason: z.string() }),
  z.strictObject({ type: z.enum(['stdout', 'stderr', 'system']), message: z.string() }),
]);

/** aleph-vm's texts on the log websocket, which clients show to users. */
export const STREAM_LOGS_TEXT = {
  missingAuth: "missing 'auth' key in message",
  unauthorized: 'unauthorized sender',
  starting: 'VM is starting, try again shortly',
  pastLogsSent: 'VM is not running, past logs sent',
} as const;
