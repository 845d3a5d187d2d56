/**
 * The web console in a real browser (Playwright driving Debian's chromium) against a small real
 * network: one CCN process and two CRN processes (process executor) registered and linked as the
 * devnet does it, with a persistent program placed on one of them. Each page loads, shows the
 * network's nodes and the node's data; the CCN page, left open, shows a CRN go down when its
 * process is killed. Screenshots of each page go to test-artifacts/console/ (kept by CI).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildInlineMessage, EthAccount } from '@aleph-nodes/protocol';
import { chromium, type Browser, type Page } from 'playwright-core';
import { eventually } from '../helpers/eventually.ts';
import { REPO_ROOT } from '../helpers/process.ts';
import {
  allocationsOf,
  prepareCcn,
  prepareCrn,
  programMessage,
  publishCode,
  publishTo,
  registryOperation,
  runningOn,
  startCcnNode,
  startCrnNode,
  stopCrn,
  type CcnNodeProc,
  type CrnNodeProc,
} from '../network/helpers/ccn-network.ts';
import { ensureConsoleBuilt } from './build.ts';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'console');
/** Debian's chromium package: the real binary (/usr/bin/chromium is a shell wrapper). */
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));

describe('web console in a browser', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'console-test-'));
  let ccn: CcnNodeProc;
  const crns: CrnNodeProc[] = [];
  let browser: Browser;
  let ccnPage: Page;
  const pageErrors: string[] = [];
  let placedOn: CrnNodeProc | undefined;

  const open = async (url: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // Script errors and CSP violations (reported as console errors) fail the test at the end.
    page.on('pageerror', (e) => pageErrors.push(`${url}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`${url}: ${m.text()}`);
    });
    await page.goto(url);
    return page;
  };
  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    assert.ok(CHROMIUM, 'chromium is not installed: scripts/setup-debian.sh installs the Debian chromium package');
    ensureConsoleBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    ccn = await prepareCcn(root, 'ccn', EthAccount.generate());
    await startCcnNode(ccn, []);
    for (const [i, host] of ['127.0.0.41', '127.0.0.42'].entries()) {
      const crn = await prepareCrn(root, `crn-${i + 1}`, host, [ccn.url]);
      crns.push(crn);
      await startCrnNode(crn);
    }
    ccn.hash = await registryOperation([ccn.url], ccn.key, 'create-node', { details: { name: 'console-ccn', multiaddress: '' } });
    for (const crn of crns) {
      crn.hash = await registryOperation([ccn.url], EthAccount.generate(), 'create-resource-node', { details: { name: crn.name, address: crn.url, type: 'compute' } });
      await registryOperation([ccn.url], ccn.key, 'link', { ref: crn.hash });
    }
    // A published reward distribution (as `ccn rewards --publish` signs it) paying the CCN owner.
    const now = Math.floor(Date.now() / 1000);
    const distribution = { incentive: 'corechannel', status: 'calculation', start_height: now - 3600, end_height: now, period: { from_date: now - 3600, to_date: now }, rewards: { [ccn.key.address]: 1.5 }, tags: [] };
    await publishTo([ccn.url], buildInlineMessage(ccn.key, 'POST', { type: 'staking-rewards-distribution', content: distribution }, { channel: 'FOUNDATION' }));
    const user = EthAccount.generate();
    const refs = await publishCode([ccn.url], user);
    const program = programMessage(user, refs, { name: 'console-persistent', persistent: true, greeting: 'hello console' });
    await publishTo([ccn.url], program);
    await eventually('the persistent program to run on a CRN', 90_000, async () => {
      for (const crn of crns) if ((await runningOn(crn)).includes(program.item_hash)) placedOn = crn;
      return placedOn !== undefined && (await allocationsOf(ccn)).allocations.some((a) => a.item_hash === program.item_hash);
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });

  after(async () => {
    try {
      await browser?.close();
      for (const crn of crns) {
        if (crn.proc && !crn.proc.running) await startCrnNode(crn).catch(() => undefined);
        await stopCrn(crn).catch(() => undefined);
      }
      await ccn?.proc?.stop().catch(() => undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('the CCN page shows the network: the CCN, both CRNs healthy, the allocation and its reason', async () => {
    ccnPage = await open(`${ccn.url}/console/`);
    await ccnPage.waitForSelector('[data-testid="crn-table"]');
    for (const crn of crns) {
      await ccnPage.locator('[data-testid="crn-table"] tr', { hasText: crn.name }).filter({ hasText: 'healthy' }).waitFor({ timeout: 60_000 });
    }
    await ccnPage.locator('[data-testid="ccn-table"] tr', { hasText: 'console-ccn' }).filter({ hasText: '1.500000' }).waitFor();
    await ccnPage.locator('[data-testid="rewards-table"] tr', { hasText: '1.500000' }).waitFor();
    const alloc = ccnPage.locator('[data-testid="alloc-table"] tbody tr');
    await alloc.first().waitFor();
    assert.equal(await alloc.count(), 1);
    assert.match((await alloc.first().textContent()) ?? '', /placed|new|rendezvous|rank|capacity/i);
    // Live messages over the websocket: the history holds the registry operations and the program.
    await ccnPage.locator('#messages li', { hasText: 'PROGRAM' }).first().waitFor();
    await shot(ccnPage, 'ccn');
  });

  it('the CRN page shows capacity charts, executions with owner and payment, the checks, and the operator view after login', async () => {
    const crn = placedOn as CrnNodeProc;
    const page = await open(`${crn.url}/console/`);
    await page.waitForSelector('body[data-loaded="true"]');
    assert.equal(await page.locator('#charts svg.chart').count(), 4);
    const row = page.locator('[data-testid="exec-table"] tbody tr').first();
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /running/);
    assert.match((await row.textContent()) ?? '', /hold/);
    await page.locator('[data-testid="checks-table"]').waitFor({ timeout: 30_000 });
    // The process executor without a VM: no guest kernel between workload and host, shown as such.
    await page.locator('[data-testid="isolation-table"] tr', { hasText: 'guest kernel' }).filter({ hasText: 'fail' }).waitFor();
    // Logs are the operator's: refused before login, shown after.
    await page.locator('[data-testid="exec-table"] button').first().click();
    await page.locator('#operator-view', { hasText: 'log in as the operator' }).waitFor();
    await page.fill('#token', 'not-the-token');
    await page.click('#login button');
    await page.locator('#login-state', { hasText: 'wrong token' }).waitFor();
    await page.fill('#token', readFileSync(join(crn.dir, 'login.token'), 'utf8'));
    await page.click('#login button');
    await page.locator('#login-state', { hasText: 'logged in' }).waitFor();
    await page.locator('[data-testid="details-table"] tbody tr', { hasText: 'running' }).waitFor();
    await page.locator('[data-testid="exec-table"] button').first().click();
    await page.locator('[data-testid="logs"]').waitFor();
    await shot(page, 'crn');
    await page.close();
  });

  it('the docs page renders both OpenAPI documents', async () => {
    for (const [name, url] of [['ccn-api', ccn.url], ['crn-api', (crns[0] as CrnNodeProc).url]] as const) {
      const page = await open(`${url}/console/docs`);
      await page.waitForSelector('body[data-loaded="true"]');
      assert.ok((await page.locator('[data-testid="operation"]').count()) > 15);
      await shot(page, name);
      await page.close();
    }
  });

  it('the open CCN page shows a CRN down once its process is killed', async () => {
    const victim = crns.find((c) => c !== placedOn) as CrnNodeProc;
    await victim.proc?.kill();
    await ccnPage.locator('[data-testid="linked-table"] tr', { hasText: victim.url }).filter({ hasText: 'down' }).waitFor({ timeout: 90_000 });
    await ccnPage.locator('[data-testid="crn-table"] tr', { hasText: victim.name }).filter({ hasText: 'down' }).waitFor({ timeout: 30_000 });
    await shot(ccnPage, 'ccn-crn-down');
    assert.deepEqual(pageErrors, []);
  });
});
