/**
 * Execution records in SQLite (`<dataDir>/crn.sqlite`): what runs, its resources, its state
 * timestamps, the backend's adoption record and the last log lines. A restarted supervisor
 * re-adopts or restarts persistent executions from here, and owner stops survive restarts.
 */
import Database from 'better-sqlite3';
import type { AdoptionRecord, ExecutionSpec, LogLine } from '@aleph-nodes/vmm';

/** What a restarted supervisor needs to re-attach without the CCN: the backend record and the spec. */
export interface StoredAdoption {
  record: AdoptionRecord;
  spec: ExecutionSpec;
  /** Cache entries the workload uses (its code is mounted from there): pinned again on adoption. */
  cacheKeys?: string[];
}

/**
 * aleph-vm's `vm_type` of an execution, kept as it is in `/about/executions/list` (crn-api.md §3.2)
 * and in the records. Its `'microvm'` is an on-demand program whatever the executor runs it, not
 * the microvm executor: name it `ON_DEMAND_PROGRAM`.
 */
export type AlephVmType = 'microvm' | 'persistent_program' | 'instance';

/** aleph-vm's `vm_type` of an on-demand program (started by a request, stopped when idle). */
export const ON_DEMAND_PROGRAM = 'microvm' satisfies AlephVmType;

export interface ExecutionRecord {
  ref: string;
  vmType: AlephVmType;
  persistent: boolean;
  state: string;
  ownerStopped: boolean;
  /** The message as received from the CCN (JSON with content). */
  message: string;
  owner: string;
  vcpus: number;
  memoryMib: number;
  diskMib: number;
  adoption: StoredAdoption | null;
  /** Measured peak memory of the last run (MiB), when the backend reports it. */
  memoryPeakMib: number | null;
  lastError: string | null;
  lastLogs: LogLine[];
  definedAt: string;
  startedAt: string | null;
  stoppedAt: string | null;
}

interface Row {
  ref: string;
  vm_type: string;
  persistent: number;
  state: string;
  owner_stopped: number;
  message: string;
  owner: string;
  vcpus: number;
  memory_mib: number;
  disk_mib: number;
  adoption: string | null;
  memory_peak_mib: number | null;
  last_error: string | null;
  last_logs: string;
  defined_at: string;
  started_at: string | null;
  stopped_at: string | null;
}

function fromRow(r: Row): ExecutionRecord {
  return {
    ref: r.ref,
    vmType: r.vm_type as AlephVmType,
    persistent: r.persistent === 1,
    state: r.state,
    ownerStopped: r.owner_stopped === 1,
    message: r.message,
    owner: r.owner,
    vcpus: r.vcpus,
    memoryMib: r.memory_mib,
    diskMib: r.disk_mib,
    adoption: r.adoption ? (JSON.parse(r.adoption) as StoredAdoption) : null,
    memoryPeakMib: r.memory_peak_mib,
    lastError: r.last_error,
    lastLogs: JSON.parse(r.last_logs) as LogLine[],
    definedAt: r.defined_at,
    startedAt: r.started_at,
    stoppedAt: r.stopped_at,
  };
}

export class ExecutionRecords {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS executions (
      ref TEXT PRIMARY KEY,
      vm_type TEXT NOT NULL,
      persistent INTEGER NOT NULL,
      state TEXT NOT NULL,
      owner_stopped INTEGER NOT NULL DEFAULT 0,
      message TEXT NOT NULL,
      owner TEXT NOT NULL,
      vcpus INTEGER NOT NULL,
      memory_mib INTEGER NOT NULL,
      disk_mib INTEGER NOT NULL,
      adoption TEXT,
      last_error TEXT,
      last_logs TEXT NOT NULL DEFAULT '[]',
      defined_at TEXT NOT NULL,
      started_at TEXT,
      stopped_at TEXT,
      memory_peak_mib INTEGER
    )`);
    // Databases written before the column existed.
    const columns = this.#db.prepare('PRAGMA table_info(executions)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'memory_peak_mib')) this.#db.exec('ALTER TABLE executions ADD COLUMN memory_peak_mib INTEGER');
  }

  /** The open database, for other tables of the CRN (port forwards). */
  get database(): Database.Database {
    return this.#db;
  }

  upsert(r: ExecutionRecord): void {
    this.#db
      .prepare(
        `INSERT INTO executions (ref, vm_type, persistent, state, owner_stopped, message, owner, vcpus, memory_mib, disk_mib, adoption, memory_peak_mib, last_error, last_logs, defined_at, started_at, stopped_at)
         VALUES (@ref, @vm_type, @persistent, @state, @owner_stopped, @message, @owner, @vcpus, @memory_mib, @disk_mib, @adoption, @memory_peak_mib, @last_error, @last_logs, @defined_at, @started_at, @stopped_at)
         ON CONFLICT(ref) DO UPDATE SET vm_type=excluded.vm_type, persistent=excluded.persistent, state=excluded.state,
           owner_stopped=excluded.owner_stopped, message=excluded.message, owner=excluded.owner, vcpus=excluded.vcpus,
           memory_mib=excluded.memory_mib, disk_mib=excluded.disk_mib, adoption=excluded.adoption, memory_peak_mib=excluded.memory_peak_mib, last_error=excluded.last_error,
           last_logs=excluded.last_logs, defined_at=excluded.defined_at, started_at=excluded.started_at, stopped_at=excluded.stopped_at`,
      )
      .run({
        ref: r.ref,
        vm_type: r.vmType,
        persistent: r.persistent ? 1 : 0,
        state: r.state,
        owner_stopped: r.ownerStopped ? 1 : 0,
        message: r.message,
        owner: r.owner,
        vcpus: r.vcpus,
        memory_mib: r.memoryMib,
        disk_mib: r.diskMib,
        adoption: r.adoption ? JSON.stringify(r.adoption) : null,
        memory_peak_mib: r.memoryPeakMib,
        last_error: r.lastError,
        last_logs: JSON.stringify(r.lastLogs),
        defined_at: r.definedAt,
        started_at: r.startedAt,
        stopped_at: r.stoppedAt,
      });
  }

  get(ref: string): ExecutionRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM executions WHERE ref = ?').get(ref) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  all(): ExecutionRecord[] {
    return (this.#db.prepare('SELECT * FROM executions ORDER BY defined_at').all() as Row[]).map(fromRow);
  }

  delete(ref: string): void {
    this.#db.prepare('DELETE FROM executions WHERE ref = ?').run(ref);
  }

  close(): void {
    this.#db.close();
  }
}
