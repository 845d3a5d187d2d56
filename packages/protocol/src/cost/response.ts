/**
 * pyaleph's price answer (`EstimatedCostsResponse`) of `/api/v0/price/{hash}`, `POST
 * /api/v0/price/estimate` and `POST /api/v0/price/estimate/instance`: defined once here for the CCN
 * that serves it and the CRN that reads it.
 */
import { z } from 'zod';
import type { CostLineType, PaymentType } from './lines.ts';

export const PriceDetailSchema = z.object({
  type: z.string(),
  name: z.string(),
  cost_hold: z.string(),
  cost_stream: z.string(),
  cost_credit: z.string(),
  size_mib: z.number().nullable().optional(),
});
export const PriceResponseSchema = z.object({
  /** `cost` as a JSON number (pyaleph's float(required_tokens)). */
  required_tokens: z.number(),
  payment_type: z.enum(['hold', 'superfluid', 'credit']),
  /** Hold: ALEPH; superfluid: ALEPH per second; credit: credits per second. 18 decimals. */
  cost: z.string(),
  detail: z.array(PriceDetailSchema),
  charged_address: z.string(),
});
export type PriceDetail = z.infer<typeof PriceDetailSchema>;
export type PriceResponse = z.infer<typeof PriceResponseSchema>;

interface PricedCost {
  paymentType: PaymentType;
  cost: string;
  detail: readonly { type: CostLineType; name: string; sizeMib: number | null; hold: string; stream: string; credit: string }[];
}

/** The answer for a priced message; `includeSize` false gives null sizes (pyaleph's `include_size` default on /price/{hash}). */
export function priceResponse(cost: PricedCost, chargedAddress: string, includeSize: boolean): PriceResponse {
  return {
    required_tokens: Number(cost.cost),
    payment_type: cost.paymentType,
    cost: cost.cost,
    detail: cost.detail.map((d) => ({
      type: d.type,
      name: d.name,
      cost_hold: d.hold,
      cost_stream: d.stream,
      cost_credit: d.credit,
      size_mib: includeSize ? d.sizeMib : null,
    })),
    charged_address: chargedAddress,
  };
}
