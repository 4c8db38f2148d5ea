/**
 * The CPU differential fuzzer in `npm test`: 100,000 random sequences, run natively in batches
 * through one i386 harness process each and on the emulator; registers, defined flags, the
 * exception and touched memory must agree. The seed is fixed (XENOFORM_FUZZ_SEED overrides it)
 * so a failure replays with `npm run fuzz -- --seed S --case K`.
 *
 * Skipped, loudly, only when the native harness cannot run on this machine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Cpu } from '../../runtime/cpu/cpu.ts';
import { newStats, runBatch, type BatchStats } from './fuzz.ts';
import { recordKey } from './generate.ts';
import { ensureHarness } from './native.ts';
import { buildTemplates } from './templates.ts';
import { KNOWN_FAILURES } from './known-failures.ts';
import { handCase, runOne } from './repro.ts';

const SEED = Number(process.env.XENOFORM_FUZZ_SEED ?? 0x5eed2024) >>> 0;
const CASES = 100_000;
const BATCH = 10_000;

const unavailable = ensureHarness();
if (unavailable) console.warn(`\n*** CPU fuzz tests SKIPPED: ${unavailable}\n`);

/** Mnemonics the instruction families require the fuzzer to exercise. */
const REQUIRED = [
  'add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp', 'test', 'inc', 'dec', 'neg', 'not',
  'shl', 'sal', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr', 'shld', 'shrd',
  'mul', 'imul', 'div', 'idiv', 'bt', 'bts', 'btr', 'btc', 'bsf', 'bsr', 'bswap',
  'sete', 'setb', 'setl', 'cmove', 'cmovb', 'cmovl', 'xadd', 'cmpxchg', 'cmpxchg8b', 'xchg',
  'movsb', 'rep movsd', 'rep movsw', 'repe cmpsb', 'repne scasb', 'rep stosd', 'lodsb', 'scasd',
  'enter', 'leave', 'push', 'pop', 'pushad', 'popad', 'pushaw', 'popaw', 'pushfd', 'popfd', 'pushfw', 'popfw',
  'lahf', 'sahf', 'cbw', 'cwde', 'cwd', 'cdq', 'movsx', 'movzx', 'daa', 'das', 'aaa', 'aas', 'aam', 'aad',
  'xlat', 'nop', 'nopl', 'pause', 'endbr32', 'clc', 'stc', 'cmc', 'cld', 'std', 'lea', 'mov',
  'jecxz', 'loop', 'loope', 'loopne', 'jmp', 'je', 'jg', 'call', 'into', 'bound', 'arpl', 'salc',
  'smc movl imm', 'smc movb opcode', 'hlt', 'cli', 'in', 'out', 'lgdt', 'invlpg',
  'ret', 'jmp indirect', 'call indirect', 'notrack jmp indirect', 'rep bsf',
];

describe.skipIf(unavailable !== undefined)('CPU differential fuzzer (native i386 vs emulator)', () => {
  const stats: BatchStats = newStats();
  const t0 = Date.now();

  afterAll(() => {
    const secs = (Date.now() - t0) / 1000;
    const per = (s: number): string => `${Math.round(stats.cases / s)}/s`;
    const known = [...stats.known].map(([id, n]) => `${id}×${n}`).join(' ') || 'none';
    console.log(
      `cpu fuzz: seed ${SEED}, ${stats.cases} cases in ${secs.toFixed(1)} s (native ${per(stats.nativeSeconds)}, ` +
        `emulated ${per(stats.emulatedSeconds)}, generated ${per(stats.generateSeconds)}); ${stats.mnemonics.size} mnemonics, ` +
        `${stats.records.size} opcode records; known failures: ${known}`,
    );
  });

  for (let first = 0; first < CASES; first += BATCH) {
    it(`cases ${first}–${first + BATCH - 1} agree`, () => {
      const batch = runBatch({ seed: SEED, first, count: BATCH, maxMismatches: 3 }, stats);
      expect(batch.mismatches.map((m) => m.report), `replay with: npm run fuzz -- --seed ${SEED} --case K`).toEqual([]);
    });
  }

  it('exercised every instruction family of the issue', () => {
    const missing = REQUIRED.filter((m) => !stats.mnemonics.has(m));
    expect(missing).toEqual([]);
    expect(stats.prefixes.get('lock') ?? 0).toBeGreaterThan(1000);
    expect(stats.prefixes.get('o16') ?? 0).toBeGreaterThan(1000);
    expect(stats.prefixes.get('seg') ?? 0).toBeGreaterThan(1000);
  });

  it('exercised every opcode-table record it does not exclude', () => {
    const missing = buildTemplates().templates.map(recordKey).filter((k) => !stats.records.has(k));
    expect(missing).toEqual([]);
  });

  it('each known failure still reproduces (delete its entry once the CPU is fixed)', () => {
    for (const k of KNOWN_FAILURES) {
      for (const r of k.repro) {
        const g = handCase(r);
        const ran = runOne(g);
        expect(ran.verdict.ok, `${k.id} no longer reproduces: the CPU agrees with the host on ${r.code}; remove ${k.id} from known-failures.ts`).toBe(false);
        expect(k.matches(g, ran.native, ran.emulated), `${k.id}'s reproducer now fails differently:\n${ran.report}`).toBe(true);
      }
    }
  });

  it('catches an injected CPU bug (the fuzzer is not blind)', () => {
    // Break AF after additions whose result is 0x10 mod 0x100 and check a mismatch is found.
    const af = Cpu.prototype.af;
    Cpu.prototype.af = function (this: Cpu): number {
      const v = af.call(this);
      return (this.lfRes & 0xff) === 0x10 ? v ^ 1 : v;
    };
    try {
      const s = runBatch({ seed: SEED ^ 0xbad, first: 0, count: 5000, maxMismatches: 1 });
      expect(s.mismatches.length).toBe(1);
    } finally {
      Cpu.prototype.af = af;
    }
  });
});
