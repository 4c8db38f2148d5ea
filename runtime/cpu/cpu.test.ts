/**
 * The CPU as a whole: faults are restartable (SDM Vol. 3 §6.5: a fault is reported with the
 * state as it was before the faulting instruction, EIP pointing at it), the run loop's
 * contract (budget, halt, stop requests, retired-instruction count), privilege from CS.RPL and
 * ring transitions through IRET and far transfers, and the translation tier agreeing with the
 * interpreter.
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, PTE_DEFAULT, REGS, STACK_TOP, TestMachine, exec, fl, le32, type Setup } from './testing.ts';
import { STOP_BUDGET, STOP_HALT, STOP_REQUEST } from './cpu.ts';
import * as K from './constants.ts';

/** A page for faulting accesses, read-only or not present as each case needs. */
const P = 0x400000;
const readOnly = (t: TestMachine): void => t.map(P, P, PTE_DEFAULT & ~2);
const notPresent = (t: TestMachine): void => t.setPte(P, 0);

interface FaultCase {
  name: string;
  code: string;
  setup: Setup;
  prep: (t: TestMachine) => void;
  vector: number;
}

const base: Setup = { eax: 0x11, ebx: P + 0x10, ecx: 0x33, edx: 0x44, esi: P + 0x20, edi: P + 0x30, ebp: P + 0x40, flags: fl('CF ZF') | 0x2 };

const FAULTS: FaultCase[] = [
  // Read-modify-write on a read-only page: the read succeeds, the write faults.
  ...([
    ['add [ebx],eax', '01 03'], ['adc [ebx],eax', '11 03'], ['sbb [ebx],eax', '19 03'], ['sub [ebx],1', '83 2b 01'],
    ['inc [ebx]', 'ff 03'], ['neg [ebx]', 'f7 1b'], ['not [ebx]', 'f7 13'], ['shl [ebx],1', 'd1 23'], ['rcl [ebx],1', 'd1 13'],
    ['rcr [ebx],1', 'd1 1b'], ['shld [ebx],eax,4', '0f a4 03 04'], ['bts [ebx],eax', '0f ab 03'], ['xadd [ebx],eax', '0f c1 03'],
    ['cmpxchg [ebx],ecx', '0f b1 0b'], ['xchg [ebx],eax', '87 03'], ['setc [ebx]', '0f 92 03'], ['adc byte [ebx],al', '10 03'],
    ['stosd', 'ab'], ['movsd (destination read-only)', 'a5'], ['pop [ebx] (destination read-only)', '8f 03'],
  ] as const).map(([name, code]): FaultCase => ({ name: `${name} (read-only page)`, code, setup: base, prep: readOnly, vector: K.PFV })),
  // Not-present pages.
  { name: 'call [ebx] (pointer not present)', code: 'ff 13', setup: base, prep: notPresent, vector: K.PFV },
  { name: 'call eax (stack not present)', code: 'ff d0', setup: { ...base, esp: P + 0x100 }, prep: notPresent, vector: K.PFV },
  { name: 'push [ebx] (source not present)', code: 'ff 33', setup: base, prep: notPresent, vector: K.PFV },
  { name: 'ret (stack not present)', code: 'c3', setup: { ...base, esp: P + 0x100 }, prep: notPresent, vector: K.PFV },
  { name: 'leave ([ebp] not present)', code: 'c9', setup: base, prep: notPresent, vector: K.PFV },
  { name: 'popa (stack runs into a not-present page)', code: '61', setup: { ...base, esp: P - 16 }, prep: notPresent, vector: K.PFV },
  { name: 'cmpsd ([edi] not present)', code: 'a7', setup: { ...base, esi: DATA }, prep: notPresent, vector: K.PFV },
  { name: 'lgdt [ebx] (not present)', code: '0f 01 13', setup: base, prep: notPresent, vector: K.PFV },
  { name: 'div dword [ebx] (not present)', code: 'f7 33', setup: base, prep: notPresent, vector: K.PFV },
  // Other faults.
  { name: 'div ecx by zero', code: 'f7 f1', setup: { ...base, ecx: 0 }, prep: () => {}, vector: K.DE },
  { name: 'ud2', code: '0f 0b', setup: base, prep: () => {}, vector: K.UD },
  { name: 'fld1', code: 'd9 e8', setup: base, prep: () => {}, vector: K.NM },
  { name: 'cli in ring 3', code: 'fa', setup: { ...base, cpl: 3, flags: 0x203 }, prep: () => {}, vector: K.GP },
];

/**
 * Regression (found here, fixed in 040df64): memory-destination read-modify-write instructions
 * used to record their flags (and XADD its register operand) before the memory write, so a #PF
 * on the write (a read-only page: copy-on-write, write-protected page tables) was delivered
 * with that state already changed, and ADC, SBB, RCL and RCR restarted with the aborted
 * attempt's CF and stored a wrong result (the restart tests below).
 */
describe('a fault leaves EIP at the faulting instruction and the state unchanged', () => {
  for (const c of FAULTS) {
    it(c.name, () => {
      const m = exec(`90 ${c.code}`, c.setup, {}, (t) => {
        for (let a = P - 0x100; a < P + 0x100; a += 4) t.write32(a, 0xa5a5a5a4);
        c.prep(t);
      });
      const before = REGS.map((r) => (c.setup[r] ?? (r === 'esp' ? STACK_TOP : 0)) >>> 0);
      expect(m.trap).toMatchObject({ vector: c.vector, soft: false, faultEip: CODE + 1, eip: CODE + 1 });
      expect(REGS.map((r) => m.reg(r))).toEqual(before);
      expect(m.flags).toBe((c.setup.flags ?? 2) >>> 0);
      expect(m.cpu.icount).toBe(1);
      expect(m.read32(P + 0x10)).toBe(0xa5a5a5a4); // memory untouched
      expect(m.cpu.gdtBase).toBe(0);
    });
  }
});

describe('restarting an instruction after the embedder fixes the fault gives the SDM result', () => {
  /** Run `code` against a read-only page; the #PF handler makes it writable and resumes. */
  const restart = (code: string, setup: Setup, init: number): TestMachine =>
    exec(code, { ebx: P, ...setup }, {}, (t) => {
      t.write32(P, init);
      readOnly(t);
      t.onTrap = (trap, tm) => {
        if (trap.vector !== K.PFV) return 'halt';
        tm.map(P, P);
        tm.cpu.mmu.invlpg(P);
        return 'resume';
      };
    });

  it('add [ebx],eax', () => {
    const m = restart('01 03', { eax: 5 }, 7);
    expect(m.traps.map((t) => t.vector)).toEqual([K.PFV, K.BP]);
    expect(m.read32(P)).toBe(12);
  });

  it('xchg [ebx],eax', () => {
    const m = restart('87 03', { eax: 5 }, 7);
    expect([m.read32(P), m.eax]).toEqual([5, 7]);
  });

  // The aborted attempt would leave CF = 0 (0 + 0 + 1 = 1, no carry): a restart must still add CF = 1.
  it('adc [ebx],eax with CF = 1', () => {
    const m = restart('11 03', { eax: 0, flags: fl('CF') }, 0);
    expect(m.read32(P)).toBe(1);
  });

  // The aborted attempt would leave CF = 0 (5 - 0 - 1 = 4, no borrow).
  it('sbb [ebx],eax with CF = 1', () => {
    const m = restart('19 03', { eax: 0, flags: fl('CF') }, 5);
    expect(m.read32(P)).toBe(4);
  });

  // Rotating 0 through CF = 1 would leave CF = 0 for the restart.
  it('rcl dword [ebx],1 with CF = 1', () => {
    const m = restart('d1 13', { flags: fl('CF') }, 0);
    expect(m.read32(P)).toBe(1);
  });

  // XADD must not write EAX before the store is known to succeed (else the restart adds 7 + 7).
  it('xadd [ebx],eax', () => {
    const m = restart('0f c1 03', { eax: 5 }, 7);
    expect([m.read32(P), m.eax]).toEqual([12, 7]);
  });
});

describe('faults in the middle of a block, interpreted and translated', () => {
  // L: inc ebx; mov eax,[esi]; add esi,4; jmp L — walks into a not-present page after 40 rounds.
  const code = '43 8b 06 83 c6 04 eb f8';
  for (const translate of [false, true]) {
    it(translate ? 'translation tier' : 'interpreter', () => {
      const m = exec(code, { ebx: 0, esi: P - 40 * 4 }, {}, (t) => {
        t.cpu.translate = translate;
        notPresent(t);
      });
      expect(m.trap).toMatchObject({ vector: K.PFV, errorCode: 0, cr2: P, faultEip: CODE + 1, eip: CODE + 1 });
      // 40 whole rounds of 4 instructions, then the INC of round 41.
      expect([m.ebx, m.esi, m.cpu.icount]).toEqual([41, P, 161]);
    });
  }
});

describe('the translation tier computes what the interpreter computes', () => {
  // A loop mixing arithmetic, carries, rotates, SETcc and memory: 300 rounds.
  const loop = [
    '89 d8', //       L: mov eax,ebx
    'c1 e0 03', //       shl eax,3
    '11 c3', //          adc ebx,eax
    '31 da', //          xor edx,ebx
    'd1 da', //          rcr edx,1
    '0f 92 c1', //       setc cl
    '01 ce', //          add esi,ecx
    '89 34 bd 00 00 02 00', // mov [edi*4+DATA],esi
    '0f af d6', //       imul edx,esi
    '4f', //             dec edi
    '75 e3', //          jnz L
  ];
  const run = (translate: boolean) =>
    exec(loop, { ebx: 0x12345, edx: 7, esi: 1, edi: 300, ecx: 0 }, {}, (t) => {
      t.cpu.translate = translate;
    });

  it('same registers, flags, memory and instruction count', () => {
    const a = run(false), b = run(true);
    expect(a.completed && b.completed).toBe(true);
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(Buffer.from(b.readBytes(DATA, 1204)).equals(Buffer.from(a.readBytes(DATA, 1204)))).toBe(true);
    expect(b.cpu.icount).toBe(a.cpu.icount);
    expect(a.cpu.icount).toBe(300 * 11 + 1);
  });
});

describe('the run loop', () => {
  it('counts retired instructions (a trap instruction retires; a faulting one does not)', () => {
    expect(exec('90 90 90', {}).cpu.icount).toBe(4);
    expect(exec('90 0f 0b', {}).cpu.icount).toBe(1);
  });

  it('returns STOP_BUDGET when the budget runs out (at block granularity)', () => {
    const m = new TestMachine();
    m.load(CODE, 'eb fe'); // jmp $
    m.set({ eip: CODE });
    expect(m.cpu.run(1000)).toBe(STOP_BUDGET);
    expect(m.cpu.icount).toBeGreaterThanOrEqual(1000);
    expect(m.eip).toBe(CODE);
  });

  it('returns STOP_HALT after HLT and STOP_REQUEST after requestStop from a hook', () => {
    const m = new TestMachine();
    m.load(CODE, 'f4 cd 80 90 cc');
    m.set({ eip: CODE });
    expect(m.cpu.run(100)).toBe(STOP_HALT);
    expect(m.cpu.run(100)).toBe(STOP_HALT); // stays halted
    m.cpu.halted = false; // an interrupt would do this
    m.onTrap = (_t, tm) => {
      tm.cpu.requestStop();
      return 'resume';
    };
    expect(m.cpu.run(100)).toBe(STOP_REQUEST);
    expect(m.eip).toBe(CODE + 3);
  });

  it('an embedder can redirect EIP from the exception hook', () => {
    const m = exec('0f 0b b8 01 00 00 00', {}, {}, (t) => {
      t.onTrap = (trap, tm) => {
        if (trap.vector !== K.UD) return 'halt';
        tm.cpu.eip = CODE + 2;
        return 'resume';
      };
    });
    expect(m.completed).toBe(true);
    expect(m.eax).toBe(1);
  });
});

describe('privilege: CPL is CS.RPL; IRET and far transfers', () => {
  const GDT = DATA + 0x800;
  /** Flat segments: 08 code DPL0, 10 data DPL0, 18 code DPL3, 20 data DPL3. */
  const withGdt = (t: TestMachine): void => {
    const d: [number, number][] = [[0, 0], [0xffff, 0x00cf9a00], [0xffff, 0x00cf9200], [0xffff, 0x00cffa00], [0xffff, 0x00cff200]];
    d.forEach(([lo, hi], n) => {
      t.write32(GDT + n * 8, lo);
      t.write32(GDT + n * 8 + 4, hi);
    });
    t.cpu.gdtBase = GDT;
    t.cpu.gdtLimit = d.length * 8 - 1;
  };
  const USER = CODE + 0x100;
  /** push ss, esp, eflags, cs, eip; iret */
  const iretTo = (cs: number, eip: number, flags: number, ss = 0x23, esp = 0x80000): string =>
    `68 ${le32(ss)} 68 ${le32(esp)} 68 ${le32(flags)} 68 ${le32(cs)} 68 ${le32(eip)} cf`;

  it('iret from ring 0 to ring 3 loads CS, SS, ESP, EFLAGS (IOPL too) and CPL 3', () => {
    const m = exec(iretTo(0x1b, USER, 0x3202), {}, {}, (t) => {
      withGdt(t);
      t.load(USER, 'fa cd 80');
    });
    expect(m.trap).toMatchObject({ vector: 0x80, soft: true, faultEip: USER + 1 });
    expect([m.cpu.cpl, m.cpu.sel[K.CS], m.cpu.sel[K.SSR], m.esp]).toEqual([3, 0x1b, 0x23, 0x80000]);
    expect(m.flags & (K.IOPL | K.IF)).toBe(K.IOPL); // IOPL 3 from the image; CLI allowed at IOPL 3
  });

  it('in ring 3 the privileged instructions fault again', () => {
    const m = exec(iretTo(0x1b, USER, 0x0202), {}, {}, (t) => {
      withGdt(t);
      t.load(USER, '0f 20 c0');
    });
    expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: USER });
  });

  it('iret within ring 3 cannot raise IOPL or change IF (IOPL 0)', () => {
    const m = exec(iretTo(0x1b, USER, 0x0202), {}, {}, (t) => {
      withGdt(t);
      // In ring 3: push 23h, esp, 3002h (IOPL 3, IF 0), 1bh, USER+0x20; iret
      t.load(USER, '89 e0 ' + `6a 23 50 68 ${le32(0x3002)} 6a 1b 68 ${le32(USER + 0x20)} cf`);
      t.load(USER + 0x20, 'cd 80');
    });
    expect(m.trap).toMatchObject({ vector: 0x80, faultEip: USER + 0x20 });
    expect(m.flags & (K.IOPL | K.IF)).toBe(K.IF);
  });

  it('iret from ring 3 to ring 0 is #GP(selector)', () => {
    const m = exec(iretTo(0x1b, USER, 0x0202), {}, {}, (t) => {
      withGdt(t);
      t.load(USER, `6a 10 68 ${le32(0x70000)} 68 ${le32(0x202)} 6a 08 68 ${le32(CODE)} cf`);
    });
    expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0x08, faultEip: USER + 19 });
    expect(m.cpu.cpl).toBe(3);
  });

  // On a return to an outer ring, IRET/RETF null ES, DS, FS, GS holding a data segment with
  // DPL < the new CPL (SDM Vol. 2A "IRET", RETURN-TO-OUTER-PRIVILEGE-LEVEL). Regression (fixed
  // in 040df64): this happened only when the embedder supplied hooks.descriptor.
  it('iret to ring 3 nulls a DS that holds a ring-0 data segment', () => {
    const m = exec(iretTo(0x1b, USER, 0x0202), {}, {}, (t) => {
      withGdt(t);
      t.load(USER, 'cd 80');
    });
    expect(m.cpu.sel[K.DS]).toBe(0);
  });

  it('far jmp, far call and retf in ring 0', () => {
    // jmp far 08:CODE+0x20 → call far 08:CODE+0x40 → retf → int3
    const m = exec(`ea ${le32(CODE + 0x20)} 08 00`, {}, {}, (t) => {
      withGdt(t);
      t.load(CODE + 0x20, `9a ${le32(CODE + 0x40)} 08 00 cc`);
      t.load(CODE + 0x40, 'cb');
    });
    expect(m.trap).toMatchObject({ vector: 3, faultEip: CODE + 0x27 });
    expect([m.cpu.sel[K.CS], m.esp, m.cpu.cpl]).toEqual([0x08, STACK_TOP, 0]);
    expect([m.read32(STACK_TOP - 8), m.read32(STACK_TOP - 4) & 0xffff]).toEqual([CODE + 0x27, 0x08]);
  });

  it('a far jmp to a selector beyond the GDT limit is #GP(selector)', () => {
    const m = exec(`ea ${le32(CODE)} 48 00`, {}, {}, withGdt);
    expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0x48, faultEip: CODE });
  });

  it('setSegment with an RPL sets the CPL (the embedder\'s entry state)', () => {
    const m = new TestMachine();
    m.cpu.setSegment(K.CS, 0x1b);
    expect(m.cpu.cpl).toBe(3);
    m.cpu.setSegment(K.CS, 0x09);
    expect(m.cpu.cpl).toBe(1);
  });
});

describe('EFLAGS representation', () => {
  it('bit 1 always reads 1; bits 3, 5 and 15 read 0', () => {
    const m = new TestMachine();
    m.cpu.setFlags(0xffffffff & ~K.TF);
    expect(m.flags & 0x802a).toBe(0x2);
    m.cpu.setFlags(0);
    expect(m.flags).toBe(0x2);
  });
});
