/**
 * System instructions: privilege checks (#GP(0) outside ring 0, SDM Vol. 3 §5.9 "Privileged
 * Instructions"; CLI/STI/IN/OUT against IOPL, Vol. 1 §3.4.3.3 and Vol. 2 "CLI", "IN"), CPUID,
 * RDTSC from the injected clock, MSRs, descriptor-table registers, x87 escapes (#NM: this CPU
 * has no FPU, as the issue specifies), MMX/SSE and other undefined opcodes (#UD), LOCK misuse
 * (#UD, SDM Vol. 2A "LOCK"), and the 15-byte instruction limit (#GP(0), SDM Vol. 2A §2.3.11).
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, exec, fl, le32, type Setup } from '../testing.ts';
import * as K from '../constants.ts';

/**
 * Instructions only ring 0 may execute. CLI/STI/IN/OUT are checked with IOPL = 0 so any CPL > 0
 * is refused. EBX points at readable memory (LGDT/LIDT/INVLPG operands).
 */
const PRIVILEGED: [string, string][] = [
  ['cli', 'fa'],
  ['sti', 'fb'],
  ['hlt', 'f4'],
  ['in al,60h', 'e4 60'],
  ['out 60h,al', 'e6 60'],
  ['in eax,dx', 'ed'],
  ['out dx,ax', '66 ef'],
  ['lgdt [ebx]', '0f 01 13'],
  ['lidt [ebx]', '0f 01 1b'],
  ['lldt ax', '0f 00 d0'],
  ['ltr ax', '0f 00 d8'],
  ['lmsw ax', '0f 01 f0'],
  ['mov eax,cr0', '0f 20 c0'],
  ['mov cr0,eax', '0f 22 c0'],
  ['mov eax,cr2', '0f 20 d0'],
  ['mov eax,cr3', '0f 20 d8'],
  ['mov cr3,eax', '0f 22 d8'],
  ['mov cr4,eax', '0f 22 e0'],
  ['mov eax,dr7', '0f 21 f8'],
  ['mov dr7,eax', '0f 23 f8'],
  ['invlpg [ebx]', '0f 01 3b'],
  ['wbinvd', '0f 09'],
  ['invd', '0f 08'],
  ['clts', '0f 06'],
  ['rdmsr', '0f 32'],
  ['wrmsr', '0f 30'],
];

/**
 * Regression (found here, fixed in 040df64): every IN form (E4, E5, EC, ED) threw a host Error,
 * because the handler was compiled as `function in(c, i) {…}` and `in` is a JavaScript keyword.
 * The ring 1/3 cases below and the IN tests further down cover it.
 */
describe('privileged instructions raise #GP(0) outside ring 0, restartably', () => {
  for (const cpl of [1, 3] as const) {
    for (const [name, code] of PRIVILEGED) {
      it(`${name} in ring ${cpl}`, () => {
        const setup: Setup = { cpl, flags: 0x202, eax: 0x80000011, ebx: DATA, ecx: K.MSR_EFER, edx: 0x60 };
        const m = exec(`90 ${code}`, setup);
        expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0, soft: false, faultEip: CODE + 1, eip: CODE + 1 });
        expect([m.eax, m.ebx, m.ecx, m.edx]).toEqual([0x80000011, DATA, K.MSR_EFER, 0x60]);
        expect(m.flags).toBe(0x202);
        expect(m.cpu.cr0).toBe(K.CR0_PE | K.CR0_PG | K.CR0_WP);
        expect(m.cpu.icount).toBe(1);
        expect(m.ports).toEqual([]);
      });
    }
  }
});

describe('IOPL-sensitive instructions', () => {
  it('ring 3 with IOPL 3 may CLI, STI and OUT', () => {
    const m = exec(['fa', 'e6 61', 'fb'], { cpl: 3, flags: 0x3202, eax: 0xab });
    expect(m.completed).toBe(true);
    expect(m.ports).toEqual([{ port: 0x61, size: 8, write: true, value: 0xab }]);
    expect(m.flags & K.IF).toBe(K.IF);
  });

  it('ring 3 with IOPL 3 may IN', () => {
    const m = exec('e4 60', { cpl: 3, flags: 0x3202 }, {}, (t) => {
      t.portValue = 0xab;
    });
    expect(m.eax & 0xff).toBe(0xab);
    expect(m.ports).toEqual([{ port: 0x60, size: 8, write: false, value: 0 }]);
  });

  it('cli in ring 1 with IOPL 1 clears IF; in ring 3 with IOPL 1 it is #GP(0)', () => {
    expect(exec('fa', { cpl: 1, flags: 0x1202 }).flags & K.IF).toBe(0);
    expect(exec('fa', { cpl: 3, flags: 0x1202 }).trap).toMatchObject({ vector: K.GP, errorCode: 0 });
  });
});

describe('ring 0 system state', () => {
  it('mov eax,cr0 / cr3 / cr4 read the control registers', () => {
    const m = exec(['0f 20 c0', '0f 20 d9', '0f 20 e2'], {});
    expect(m.eax).toBe((K.CR0_PE | K.CR0_PG | K.CR0_WP) >>> 0);
    expect(m.ecx).toBe(m.cpu.cr3 >>> 0);
    expect(m.edx).toBe(K.CR4_PAE);
  });

  it('mov eax,cr1 is #UD', () => {
    expect(exec('0f 20 c8', {}).trap).toMatchObject({ vector: K.UD, faultEip: CODE });
  });

  it('clts clears CR0.TS', () => {
    const m = exec('0f 06', {}, {}, (t) => {
      t.cpu.cr0 |= K.CR0_TS;
    });
    expect(m.cpu.cr0 & K.CR0_TS).toBe(0);
  });

  it('mov dr7,eax / mov eax,dr7', () => {
    const m = exec(['0f 23 f8', '0f 21 f9'], { eax: 0x400 });
    expect(m.ecx).toBe(0x400);
  });

  it('lgdt then sgdt round-trips limit and base; sgdt is allowed in ring 3', () => {
    const m = exec(['0f 01 13', '0f 01 43 08'], { ebx: DATA }, {}, (t) => {
      t.write16(DATA, 0x1ff);
      t.write32(DATA + 2, 0x12345000);
    });
    expect([m.cpu.gdtLimit, m.cpu.gdtBase >>> 0]).toEqual([0x1ff, 0x12345000]);
    expect([m.read16(DATA + 8), m.read32(DATA + 10)]).toEqual([0x1ff, 0x12345000]);
    const u = exec('0f 01 0b', { cpl: 3, ebx: DATA });
    expect(u.completed).toBe(true);
  });

  it('rdmsr/wrmsr IA32_EFER; an unknown MSR is #GP(0)', () => {
    const m = exec(['0f 30', '31 c0', '0f 32'], { ecx: K.MSR_EFER, eax: K.EFER_NXE, edx: 0 });
    expect(m.eax).toBe(K.EFER_NXE);
    expect(m.cpu.efer).toBe(K.EFER_NXE);
    expect(exec('0f 32', { ecx: 0x12345 }).trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: CODE });
  });

  it('out imm8 in ring 0 goes to the embedder with port, size and value', () => {
    const m = exec(['e6 80', '66 e7 81', 'e7 82'], { eax: 0xdeadbeef });
    expect(m.completed).toBe(true);
    expect(m.ports).toEqual([
      { port: 0x80, size: 8, write: true, value: 0xef },
      { port: 0x81, size: 16, write: true, value: 0xbeef },
      { port: 0x82, size: 32, write: true, value: 0xdeadbeef | 0 },
    ]);
  });

  // Regression (fixed in 040df64): the implicit operand 'DX' of EC–EF was read as a D (debug
  // register) operand, so the decoder consumed a ModRM byte belonging to the next instruction.
  it('out dx,ax / out dx,al / out dx,eax are 2, 1 and 1 bytes long', () => {
    const m = exec(['66 ef', 'e6 80', 'ee', 'ef'], { edx: 0x1234, eax: 0xdeadbeef });
    expect(m.completed).toBe(true);
    expect(m.ports).toEqual([
      { port: 0x1234, size: 16, write: true, value: 0xbeef },
      { port: 0x80, size: 8, write: true, value: 0xef },
      { port: 0x1234, size: 8, write: true, value: 0xef },
      { port: 0x1234, size: 32, write: true, value: 0xdeadbeef | 0 },
    ]);
  });

  it('in in ring 0 returns what the embedder gives', () => {
    const m = exec(['ed', 'e4 60'], { edx: 0x1234, eax: 0 }, {}, (t) => {
      t.portValue = 0xdeadbeef;
    });
    expect(m.eax).toBe(0xdeadbeef);
    expect(m.ports).toEqual([
      { port: 0x1234, size: 32, write: false, value: 0 },
      { port: 0x60, size: 8, write: false, value: 0 },
    ]);
  });
});

describe('control-register and MSR writes are validated (SDM Vol. 2B "MOV—Move to/from Control Registers", "WRMSR")', () => {
  it('mov cr0 with PG set and PE clear is #GP(0), CR0 unchanged', () => {
    const m = exec('0f 22 c0', { eax: (K.CR0_PG | K.CR0_WP) >>> 0 });
    expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: CODE });
    expect(m.cpu.cr0).toBe(K.CR0_PE | K.CR0_PG | K.CR0_WP);
  });

  it('mov cr0 with NW set and CD clear is #GP(0)', () => {
    const m = exec('0f 22 c0', { eax: (K.CR0_PE | K.CR0_PG | K.CR0_WP | (1 << 29)) >>> 0 });
    expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: CODE });
  });

  it('mov cr4 setting a bit for an absent feature (OSFXSR, bit 9) is #GP(0)', () => {
    const m = exec('0f 22 e0', { eax: K.CR4_PAE | (1 << 9) });
    expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: CODE });
    expect(m.cpu.cr4).toBe(K.CR4_PAE);
  });

  it('lmsw loads MP, EM, TS but cannot clear PE', () => {
    const m = exec('0f 01 f0', { eax: 0x000e });
    expect(m.cpu.cr0 & 0xf).toBe(0xf);
    const n = exec('0f 01 f0', { eax: 0 });
    expect(n.cpu.cr0 & 0xf).toBe(K.CR0_PE);
  });

  it('wrmsr EFER with a reserved bit (LME: no long mode) is #GP(0)', () => {
    const m = exec('0f 30', { ecx: K.MSR_EFER, eax: 1 << 8, edx: 0 });
    expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: CODE });
    expect(m.cpu.efer).toBe(0);
  });

  it('rdmsr IA32_TIME_STAMP_COUNTER reads the injected clock', () => {
    const m = exec('0f 32', { ecx: K.MSR_TSC }, {}, (t) => {
      t.tsc = 0x0000000500000007n;
    });
    expect([m.edx, m.eax]).toEqual([5, 7]);
  });
});

describe('CPUID: a plain i686 without FPU, MMX or SSE', () => {
  const cpuid = (leaf: number) => exec('0f a2', { eax: leaf, ecx: 0 });
  const bit = (v: number, n: number): number => (v >>> n) & 1;

  it('leaf 0 reports at least leaf 1', () => {
    expect(cpuid(0).eax).toBeGreaterThanOrEqual(1);
  });

  it('leaf 1: family 6; TSC, PAE, CX8, CMOV present; FPU, MMX, SSE, SSE2 absent', () => {
    const m = cpuid(1);
    expect((m.eax >>> 8) & 0xf).toBe(6);
    const d = m.edx;
    expect({ fpu: bit(d, 0), tsc: bit(d, 4), pae: bit(d, 6), cx8: bit(d, 8), cmov: bit(d, 15), mmx: bit(d, 23), fxsr: bit(d, 24), sse: bit(d, 25), sse2: bit(d, 26) })
      .toEqual({ fpu: 0, tsc: 1, pae: 1, cx8: 1, cmov: 1, mmx: 0, fxsr: 0, sse: 0, sse2: 0 });
    const c = m.ecx;
    expect({ sse3: bit(c, 0), ssse3: bit(c, 9), sse41: bit(c, 19), popcnt: bit(c, 23), avx: bit(c, 28) }).toEqual({ sse3: 0, ssse3: 0, sse41: 0, popcnt: 0, avx: 0 });
  });
});

describe('RDTSC reads the injected clock', () => {
  it('EDX:EAX ← hooks.rdtsc()', () => {
    const m = exec('0f 31', { cpl: 3 }, {}, (t) => {
      t.tsc = 0x123456789abcdef0n;
    });
    expect([m.edx, m.eax]).toEqual([0x12345678, 0x9abcdef0]);
  });

  it('two reads see the clock move only when the embedder moves it', () => {
    // rdtsc; mov ebx,eax; int 80h (the embedder advances the clock); rdtsc
    const m = exec(['0f 31', '89 c3', 'cd 80', '0f 31'], {}, {}, (t) => {
      t.tsc = 1000n;
      t.onTrap = (trap, tm) => {
        if (trap.vector !== 0x80) return 'halt';
        tm.tsc += 250n;
        return 'resume';
      };
    });
    expect([m.ebx, m.eax]).toEqual([1000, 1250]);
  });

  it('CR4.TSD makes RDTSC privileged', () => {
    const setTsd = (t: import('../testing.ts').TestMachine) => {
      t.cpu.cr4 |= 0x4;
    };
    expect(exec('0f 31', { cpl: 3 }, {}, setTsd).trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: CODE });
    expect(exec('0f 31', { cpl: 0 }, {}, setTsd).completed).toBe(true);
  });
});

describe('no FPU: x87 escapes raise #NM before touching memory', () => {
  for (const [name, code] of [['fld1', 'd9 e8'], ['fldz', 'd9 ee'], ['fild dword [eax] (EAX = 0, not mapped)', 'db 00'], ['fnstsw ax', 'df e0'], ['fninit', 'db e3']] as const) {
    it(name, () => {
      const m = exec(code, { eax: 0 });
      expect(m.trap).toMatchObject({ vector: K.NM, errorCode: -1, soft: false, faultEip: CODE, eip: CODE });
    });
  }

  it('fwait is #NM only with CR0.MP and CR0.TS both set', () => {
    expect(exec('9b', {}).completed).toBe(true);
    expect(exec('9b', {}, {}, (t) => {
      t.cpu.cr0 |= 0xa;
    }).trap).toMatchObject({ vector: K.NM, faultEip: CODE });
  });
});

describe('#UD', () => {
  const UNDEFINED: [string, string][] = [
    ['ud2', '0f 0b'],
    ['movq mm0,mm1 (MMX)', '0f 6f c1'],
    ['movups xmm0,xmm1 (SSE)', '0f 10 c1'],
    ['emms', '0f 77'],
    ['0f 04', '0f 04'],
    ['0f 0a', '0f 0a'],
    ['ud0 (0f ff)', '0f ff c0'],
    ['0f 38 00 (SSSE3 pshufb)', '0f 38 00 c1'],
    ['lds with a register operand (a VEX prefix elsewhere)', 'c5 c0'],
    ['mov to segment register 6', '8e f0'],
  ];
  for (const [name, code] of UNDEFINED) {
    it(name, () => {
      const m = exec(`90 ${code}`, {});
      expect(m.trap).toMatchObject({ vector: K.UD, errorCode: -1, soft: false, faultEip: CODE + 1, eip: CODE + 1 });
    });
  }
});

describe('LOCK prefix', () => {
  const MISUSE: [string, string][] = [
    ['lock nop', 'f0 90'],
    ['lock add eax,eax (register destination)', 'f0 01 c0'],
    ['lock mov [ebx],eax (not a read-modify-write)', 'f0 89 03'],
    ['lock cmp [ebx],eax', 'f0 39 03'],
    ['lock test [ebx],eax', 'f0 85 03'],
    ['lock bt [ebx],eax (BT only reads)', 'f0 0f a3 03'],
    ['lock inc eax', 'f0 40'],
  ];
  for (const [name, code] of MISUSE) {
    it(`${name} is #UD`, () => {
      const m = exec(code, { ebx: DATA, eax: 1 });
      expect(m.trap).toMatchObject({ vector: K.UD, faultEip: CODE });
      expect(m.read32(DATA)).toBe(0);
    });
  }

  it('lockable read-modify-writes on memory execute', () => {
    const m = exec(['f0 87 03', 'f0 0f c1 03', 'f0 ff 03', 'f0 f7 13', 'f0 0f ba 2b 03', 'f0 83 03 01', 'f0 0f b1 0b'], { ebx: DATA, eax: 5, ecx: 9 });
    expect(m.completed).toBe(true);
    // xchg: [m]=5, eax=0; xadd: [m]=5, eax=5; inc: 6; not: ~6; bts 3; add 1; cmpxchg (eax=5 ≠ [m]) loads eax.
    const v = ((~6 | 8) + 1) >>> 0;
    expect(m.read32(DATA)).toBe(v);
    expect(m.eax).toBe(v);
  });
});

describe('instruction length limit', () => {
  it('15 bytes (14 prefixes + NOP) execute', () => {
    expect(exec('3e '.repeat(14) + '90', {}).completed).toBe(true);
  });

  it('16 bytes of prefixes and NOP are #GP(0), a fault at the instruction', () => {
    const m = exec('90 ' + '3e '.repeat(15) + '90', {});
    expect(m.trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: CODE + 1, eip: CODE + 1 });
  });

  it('a 15-byte add with SIB, disp32 and imm32 executes; with 4 more prefixes it is #GP(0)', () => {
    const insn = `81 84 20 ${le32(0)} ${le32(0x12345678)}`; // add dword [eax+0], 12345678h: 11 bytes
    const ok = exec('3e '.repeat(4) + insn, { eax: DATA });
    expect(ok.completed).toBe(true);
    expect(ok.read32(DATA)).toBe(0x12345678);
    const bad = exec('3e '.repeat(8) + insn, { eax: DATA });
    expect(bad.trap).toMatchObject({ vector: K.GP, errorCode: 0, faultEip: CODE });
    expect(bad.read32(DATA)).toBe(0);
  });
});

describe('PAUSE and ARPL', () => {
  it('pause (F3 90) is a NOP', () => {
    expect(exec('f3 90', { flags: fl('CF') }).arith).toBe(fl('CF'));
  });

  it('arpl raises the RPL and reports it in ZF', () => {
    const m = exec('63 d8', { eax: 0x0010, ebx: 0x0003 });
    expect(m.eax).toBe(0x0013);
    expect(m.flags & K.ZF).toBe(K.ZF);
    const n = exec('63 d8', { eax: 0x0013, ebx: 0x0001 });
    expect(n.eax).toBe(0x0013);
    expect(n.flags & K.ZF).toBe(0);
  });
});
