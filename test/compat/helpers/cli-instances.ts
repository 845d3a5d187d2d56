/**
 * What the `aleph instance …` checks of test/compat/aleph-cli-devnet.test.ts share: the CLI's
 * environment (the devnet's CRN list), an SSH public key for `--ssh-pubkey-file`, and a credit
 * INSTANCE for the devnet's CRN published with aleph-sdk-python, exactly what `aleph instance
 * create --payment-type credit` publishes once a CRN with QEMU is chosen (the devnet's process
 * executor has none, so the CLI itself stops before publishing; see the test).
 */
import { CRN_LIST_PATH } from '@aleph-nodes/protocol';
import { runSdk, SDK_PREAMBLE } from './python.ts';

/** A public key only (no private half anywhere): the instance is never booted, nobody logs in. */
export const SSH_PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP1lFkeCVXekKMTPi/qLhXEmWbXTm1x26Xi50LclGB/f cli-test';

/** The Python clients' settings for a devnet, as its banner prints them. */
export function cliEnv(ccnUrl: string, aggregatesAddress: string): Record<string, string> {
  return { ALEPH_ALEPH_AGGREGATE_ADDRESS: aggregatesAddress, ALEPH_CRN_LIST_URL: `${ccnUrl}${CRN_LIST_PATH}` };
}

/** `aleph instance create` with every answer given (it prompts for anything left out). */
export function instanceCreateArgs(o: { payment: 'credit' | 'hold'; rootfs: string; name: string; sshKeyFile: string; crnUrl?: string }): string[] {
  return [
    'instance', 'create',
    '--payment-type', o.payment, '--payment-chain', 'ETH',
    '--rootfs', o.rootfs, '--rootfs-size', '20480', '--compute-units', '1',
    '--name', o.name, '--ssh-pubkey-file', o.sshKeyFile, '--skip-volume', '--crn-auto-tac',
    ...(o.crnUrl ? ['--crn-url', o.crnUrl] : []),
  ];
}

const PUBLISH_CREDIT_INSTANCE = `${SDK_PREAMBLE}
from aleph_message.models import Chain
from aleph_message.models.execution.base import Payment, PaymentType
from aleph_message.models.execution.environment import HostRequirements, HypervisorType, NodeRequirements

async def main():
    async with AuthenticatedAlephHttpClient(account=account(), api_server=os.environ["API"]) as client:
        message, status = await client.create_instance(
            rootfs=os.environ["ROOTFS"], rootfs_size=20480, vcpus=1, memory=2048,
            payment=Payment(chain=Chain.ETH, type=PaymentType.credit, receiver=None),
            hypervisor=HypervisorType.qemu, ssh_keys=[os.environ["SSH_KEY"]], metadata={"name": os.environ["NAME"]},
            requirements=HostRequirements(node=NodeRequirements(node_hash=os.environ["CRN_HASH"])), sync=True)
        out({"hash": message.item_hash, "status": status.value})

asyncio.run(main())
`;

/** A credit-paid INSTANCE for the CRN `crnHash`, published (and processed) with the Python SDK. */
export function publishCreditInstance(o: { api: string; key: string; rootfs: string; crnHash: string; name: string }): Promise<{ hash: string; status: string }> {
  return runSdk(PUBLISH_CREDIT_INSTANCE, { API: o.api, KEY: o.key, ROOTFS: o.rootfs, CRN_HASH: o.crnHash, NAME: o.name, SSH_KEY: SSH_PUBLIC_KEY });
}

/**
 * The text of one column of a table the CLI drew (rich's box characters), whitespace removed:
 * long cells wrap over several lines, beside the other columns' cells.
 */
export function tableColumn(stdout: string, index: number): string {
  return stdout
    .split('\n')
    .filter((line) => line.trimStart().startsWith('│'))
    .map((line) => line.split('│')[index + 1] ?? '')
    .join('')
    .replace(/\s+/g, '');
}
