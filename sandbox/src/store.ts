// In-memory multi-tenant CRM state. Every mutation bumps version and updated_at and is
// reported to change listeners (the webhook dispatcher), so anything acting through the
// store - HTTP handlers, the admin API, the generator - produces webhooks.

import type { Clock } from './clock.js';
import { createIdFactory, type IdFactory, type IdPrefix } from './ids.js';
import type {
  Account,
  Activity,
  Appointment,
  BadRecord,
  ChangeEvent,
  ChangeKind,
  Contact,
  MutableObjectType,
  ObjectByType,
  ObjectType,
  PayloadMode,
  User,
} from './types.js';

export const ID_PREFIX: Record<ObjectType, IdPrefix> = {
  user: 'usr',
  contact: 'con',
  appointment: 'apt',
  activity: 'act',
};

export interface ListQuery {
  updatedSince?: string;
  /** Exclusive lower bound on (updated_at, id): where the previous page ended. */
  after?: { updatedAt: string; id: string };
  limit: number;
}

export interface ListPage<T> {
  items: T[];
  hasMore: boolean;
}

export type ContactInput = Omit<Contact, 'id' | 'version' | 'created_at' | 'updated_at' | 'deleted_at'> & { id?: string };
export type AppointmentInput = Omit<Appointment, 'id' | 'version' | 'created_at' | 'updated_at' | 'deleted_at' | 'status'> & {
  id?: string;
  status?: Appointment['status'];
};
export type ActivityInput = Omit<Activity, 'id' | 'version' | 'created_at' | 'updated_at' | 'deleted_at'> & { id?: string };
export type UserInput = Omit<User, 'id' | 'created_at' | 'updated_at'> & { id?: string };

export interface InputByType {
  contact: ContactInput;
  appointment: AppointmentInput;
  activity: ActivityInput;
}

/** Corrupts a freshly created record (bad-data fault); returns what it broke, if anything. */
export type BadDataHook = (
  type: MutableObjectType,
  accountId: string,
  record: ObjectByType[MutableObjectType],
) => Omit<BadRecord, 'account_id' | 'object_type' | 'id'> | null;

export type ChangeListener = (event: ChangeEvent) => void;

export interface Store {
  createAccount(input?: { id?: string; name?: string; webhook_payload?: PayloadMode; rate_limit?: Account['rate_limit'] }): Account;
  updateAccount(id: string, patch: Partial<Pick<Account, 'name' | 'webhook_payload' | 'rate_limit'>>): Account | undefined;
  getAccount(id: string): Account | undefined;
  listAccounts(): Account[];
  createUser(accountId: string, input: UserInput): User;
  create<T extends MutableObjectType>(type: T, accountId: string, input: InputByType[T]): ObjectByType[T];
  update<T extends MutableObjectType>(type: T, accountId: string, id: string, patch: Partial<ObjectByType[T]>): ObjectByType[T] | undefined;
  softDelete<T extends MutableObjectType>(type: T, accountId: string, id: string): ObjectByType[T] | undefined;
  get<T extends ObjectType>(type: T, accountId: string, id: string): ObjectByType[T] | undefined;
  list<T extends ObjectType>(type: T, accountId: string, query: ListQuery): ListPage<ObjectByType[T]>;
  all<T extends ObjectType>(type: T, accountId: string): ObjectByType[T][];
  badRecords(): BadRecord[];
  isBad(id: string): boolean;
  markBad(record: BadRecord): void;
  onChange(listener: ChangeListener): () => void;
  setBadDataHook(hook: BadDataHook | null): void;
  /** Strictly increasing ISO timestamp; see nextTimestamp below. */
  timestamp(): string;
  ids: IdFactory;
  reset(): void;
}

type Table<T> = Map<string, T>;

interface AccountTables {
  user: Table<User>;
  contact: Table<Contact>;
  appointment: Table<Appointment>;
  activity: Table<Activity>;
}

function newTables(): AccountTables {
  return { user: new Map(), contact: new Map(), appointment: new Map(), activity: new Map() };
}

const clone = <T>(v: T): T => structuredClone(v);

/** Orders records by (updated_at, id), the order lists and cursors are defined on. */
export function compareKey(a: { updated_at: string; id: string }, b: { updatedAt: string; id: string }): number {
  if (a.updated_at !== b.updatedAt) return a.updated_at < b.updatedAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function createStore(clock: Clock): Store {
  let ids = createIdFactory();
  let accounts = new Map<string, Account>();
  let tables = new Map<string, AccountTables>();
  let bad = new Map<string, BadRecord>();
  let lastTs = 0;
  const listeners = new Set<ChangeListener>();
  let badDataHook: BadDataHook | null = null;

  // Each change gets a timestamp strictly later than the previous one, store-wide.
  // Together with moving changed records to the end of their table this keeps
  // (updated_at, id) cursors exact: anything changed after a page was served sorts
  // after that page's cursor, so paging never loses a change.
  const timestamp = (): string => {
    lastTs = Math.max(clock.now(), lastTs + 1);
    return new Date(lastTs).toISOString();
  };

  const tablesOf = (accountId: string): AccountTables => {
    const t = tables.get(accountId);
    if (!t) throw new Error(`unknown account ${accountId}`);
    return t;
  };

  const emit = (accountId: string, objectType: MutableObjectType, kind: ChangeKind, object: ObjectByType[MutableObjectType]): void => {
    const event: ChangeEvent = { accountId, objectType, kind, object: clone(object), occurredAt: object.updated_at };
    for (const l of listeners) l(event);
  };

  // Re-inserting keeps Map iteration order equal to (updated_at, id) order.
  const put = <T extends { id: string }>(table: Table<T>, record: T): void => {
    table.delete(record.id);
    table.set(record.id, record);
  };

  const store: Store = {
    ids,
    timestamp,
    createAccount(input = {}) {
      const id = input.id ?? ids.next('acc');
      if (accounts.has(id)) throw new Error(`account ${id} exists`);
      const account: Account = {
        id,
        name: input.name ?? id,
        webhook_payload: input.webhook_payload ?? 'full',
        rate_limit: input.rate_limit ?? null,
        created_at: new Date(clock.now()).toISOString(),
      };
      accounts.set(id, account);
      tables.set(id, newTables());
      return clone(account);
    },
    updateAccount(id, patch) {
      const account = accounts.get(id);
      if (!account) return undefined;
      Object.assign(account, patch);
      return clone(account);
    },
    getAccount: (id) => {
      const a = accounts.get(id);
      return a ? clone(a) : undefined;
    },
    listAccounts: () => [...accounts.values()].map(clone),
    createUser(accountId, input) {
      const ts = timestamp();
      const { id: givenId, ...fields } = input;
      const user: User = { id: givenId ?? ids.next('usr'), ...fields, created_at: ts, updated_at: ts };
      put(tablesOf(accountId).user, user);
      return clone(user);
    },
    create(type, accountId, input) {
      const table = tablesOf(accountId)[type] as Table<ObjectByType[typeof type]>;
      const ts = timestamp();
      const base = { version: 1, created_at: ts, updated_at: ts, deleted_at: null };
      const extra = type === 'appointment' ? { status: 'scheduled' as const } : {};
      const { id: givenId, ...fields } = input;
      const record = { id: givenId ?? ids.next(ID_PREFIX[type]), ...extra, ...fields, ...base } as ObjectByType[typeof type];
      if (table.has(record.id)) throw new Error(`${type} ${record.id} exists`);
      const broken = badDataHook?.(type, accountId, record);
      if (broken) bad.set(record.id, { ...broken, account_id: accountId, object_type: type, id: record.id });
      put(table, record);
      emit(accountId, type, 'created', record);
      return clone(record);
    },
    update(type, accountId, id, patch) {
      const table = tablesOf(accountId)[type] as Table<ObjectByType[typeof type]>;
      const current = table.get(id);
      if (!current) return undefined;
      const { id: _i, version: _v, created_at: _c, updated_at: _u, deleted_at: _d, ...changes } = patch as Record<string, unknown>;
      const next = { ...current, ...changes, version: current.version + 1, updated_at: timestamp() } as ObjectByType[typeof type];
      put(table, next);
      emit(accountId, type, 'updated', next);
      return clone(next);
    },
    softDelete(type, accountId, id) {
      const table = tablesOf(accountId)[type] as Table<ObjectByType[typeof type]>;
      const current = table.get(id);
      if (!current) return undefined;
      if (current.deleted_at) return clone(current); // idempotent: no new version, no event
      const ts = timestamp();
      const next = { ...current, version: current.version + 1, updated_at: ts, deleted_at: ts } as ObjectByType[typeof type];
      put(table, next);
      emit(accountId, type, 'deleted', next);
      return clone(next);
    },
    get(type, accountId, id) {
      const rec = tables.get(accountId)?.[type].get(id);
      return rec ? (clone(rec) as ObjectByType[typeof type]) : undefined;
    },
    list(type, accountId, query) {
      const table = tables.get(accountId)?.[type] as Table<ObjectByType[typeof type]> | undefined;
      const items: ObjectByType[typeof type][] = [];
      if (!table) return { items, hasMore: false };
      for (const rec of table.values()) {
        if (query.updatedSince && rec.updated_at < query.updatedSince) continue;
        if (query.after && compareKey(rec, query.after) <= 0) continue;
        if (items.length === query.limit) return { items, hasMore: true };
        items.push(clone(rec));
      }
      return { items, hasMore: false };
    },
    all(type, accountId) {
      const table = tables.get(accountId)?.[type] as Table<ObjectByType[typeof type]> | undefined;
      return table ? [...table.values()].map(clone) : [];
    },
    badRecords: () => [...bad.values()].map(clone),
    isBad: (id) => bad.has(id),
    markBad: (record) => void bad.set(record.id, clone(record)),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setBadDataHook(hook) {
      badDataHook = hook;
    },
    reset() {
      ids = createIdFactory();
      store.ids = ids;
      accounts = new Map();
      tables = new Map();
      bad = new Map();
    },
  };
  return store;
}
