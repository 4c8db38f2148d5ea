// The state dir: atomic JSON records, events, intents.
export { quarantine, readJson, removeFile, setDurable, StateFileError, writeJsonAtomic, type ReadJson } from './atomic.ts';
export { EventLog, MAX_PER_OBJECT, type ObjectEvent } from './events.ts';
export { StateStore, type DomainMeta, type DomainRecord, type IntentRecord, type LoadedRecord } from './store.ts';
