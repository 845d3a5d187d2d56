/**
 * The payment checks wired into one CRN: the checker (gate + verdicts) built from the settings,
 * the gate the supervisor runs before every start, and the monitor's view of the supervisor
 * (its live executions, and how an unpaid one is stopped: `payment_lapsed` with its detail in
 * the execution list and the records; a removed, forgotten or rejected message is also retired).
 */
import type { Logger } from '@aleph-nodes/service';
import type { VerifiedMessage } from '../ccn/ccn-client.ts';
import type { JsonReader } from '../ccn/payment-reads.ts';
import { diagnosticProgramSet, type CrnConfig } from '../config.ts';
import type { Execution } from '../execution/execution.ts';
import type { Supervisor } from '../execution/supervisor.ts';
import { PaymentChecker, type PaidWorkload } from './checker.ts';
import type { PaymentFields } from './decisions.ts';
import { PaymentMonitor, type MonitorTarget } from './monitor.ts';

export function workloadOfMessage(ref: string, message: VerifiedMessage, since: string): PaidWorkload {
  return { ref, owner: String(message.content.address ?? message.message.sender), content: message.content as PaymentFields, since };
}

export function workloadOfExecution(exec: Execution): PaidWorkload {
  return workloadOfMessage(exec.ref, exec.message, exec.times.started_at ?? exec.times.defined_at ?? '');
}

/** The receiver of pay-as-you-go flows: the setting, else the node key's address. */
export function paymentReceiver(config: Pick<CrnConfig, 'paymentReceiverAddress'>, nodeAddress: string): string {
  return config.paymentReceiverAddress || nodeAddress;
}

export function createPaymentChecker(config: CrnConfig, ccn: JsonReader, nodeAddress: string, logger: Logger): PaymentChecker {
  return new PaymentChecker(
    ccn,
    {
      enforce: config.enforcePayments,
      receiver: paymentReceiver(config, nodeAddress),
      nodeHash: config.nodeHash,
      exempt: diagnosticProgramSet(config),
      priceCacheMs: config.paymentPriceCacheSeconds * 1000,
      accountCacheMs: config.paymentAccountCacheSeconds * 1000,
    },
    logger,
  );
}

/** The supervisor's `beforeStart`: the gate, with the live executions sharing the owner's balance. */
export function paymentGate(checker: PaymentChecker): (ref: string, message: VerifiedMessage, live: readonly Execution[]) => Promise<void> {
  return async (ref, message, live) => {
    await checker.beforeStart(
      workloadOfMessage(ref, message, new Date().toISOString()),
      live.filter((e) => e.state !== 'stopping').map(workloadOfExecution),
    );
  };
}

const STATUS_OF: Record<string, string> = { message_removed: 'removed', message_forgotten: 'forgotten', message_rejected: 'rejected' };

export function supervisorTarget(supervisor: Supervisor): MonitorTarget {
  return {
    workloads: () => supervisor.liveExecutions().filter((e) => e.state !== 'stopping').map(workloadOfExecution),
    async stopUnpaid(ref, _owner, verdict) {
      const exec = supervisor.find(ref);
      if (!exec?.live) return;
      exec.stopReason = { reason: 'payment_lapsed', detail: verdict.detail };
      exec.lastError = `payment_lapsed (${verdict.detail}): ${verdict.reason}`;
      const status = STATUS_OF[verdict.detail];
      // A removed, forgotten or rejected message never runs here again (as the status poll does).
      if (status) await supervisor.messageRetired(ref, status);
      else await supervisor.stopExecution(exec, `payment_lapsed: ${verdict.detail}`);
    },
  };
}

export function createPaymentMonitor(config: CrnConfig, checker: PaymentChecker, supervisor: Supervisor, logger: Logger): PaymentMonitor {
  return new PaymentMonitor(checker, supervisorTarget(supervisor), { confirmations: config.paymentConfirmations }, logger);
}

/** What the execution list shows of an execution's payment. */
export function paymentView(checker: PaymentChecker | undefined, exec: Execution | undefined): Record<string, unknown> {
  if (!exec) return {};
  const out: Record<string, unknown> = {};
  if (exec.stopReason) {
    out.stop_reason = exec.stopReason.reason;
    out.stop_detail = exec.stopReason.detail;
  }
  const v = checker?.enforced ? checker.verdict(exec.ref) : undefined;
  if (v) out.payment = v.kind === 'unpaid' ? { status: 'unpaid', detail: v.detail, reason: v.reason } : v.kind === 'unknown' ? { status: 'unknown', reason: v.why } : { status: v.note === 'message_removing' ? 'removing' : 'paid' };
  return out;
}
