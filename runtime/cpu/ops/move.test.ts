/**
 * Data movement: MOV forms, MOVZX/MOVSX, CBW/CWDE/CWD/CDQ, XCHG, XADD, CMPXCHG, CMPXCHG8B,
 * LAHF/SAHF, CLC/STC/CMC, LEA, XLAT, segment overrides, the NOP family (SDM Vol. 2 entries).
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, exec, fl, le32 } from '../testing.ts';
import { ARITH, FS, GP, PFV, UD } from '../constants.ts';

const ALL = fl('CF PF AF ZF SF OF');

describe('MOV', () => {
  it('moffs forms (A0–A3) read and write the absolute address', () => {
    const m = exec([`a1 ${le32(DATA)}`, `a0 ${le32(DATA + 4)}`], { eax: 0 }, {}, (t) => {
      t.write32(DATA, 0x11223344);
      t.write32(DATA + 4, 0x99);
    });
    expect(m.eax).toBe(0x11223399);
    const w = exec([`a3 ${le32(DATA)}`, `66 a1 ${le32(DATA)}`], { eax: 0xaabbccdd });
    expect(w.read32(DATA)).toBe(0xaabbccdd);
    expect(w.eax).toBe(0xaabbccdd);
  });

  it('immediate to memory, byte/word/dword', () => {
    const m = exec(['c6 03 12', '66 c7 43 04 34 12', 'c7 43 08 78 56 34 12'], { ebx: DATA }, {}, (t) => {
      t.write32(DATA, 0xffffffff);
      t.write32(DATA + 4, 0xffffffff);
    });
    expect([m.read32(DATA), m.read32(DATA + 4), m.read32(DATA + 8)]).toEqual([0xffffff12, 0xffff1234, 0x12345678]);
  });

  it('mov ch,imm8 writes bits 8–15 only', () => {
    expect(exec('b5 55', { ecx: 0x11223344 }).ecx).toBe(0x11225544);
  });

  it('changes no flag', () => {
    expect(exec('b8 00 00 00 00', { flags: ALL }).arith).toBe(ALL);
  });
});

describe('MOVZX, MOVSX, CBW, CWDE, CWD, CDQ', () => {
  it('zero and sign extension', () => {
    expect(exec('0f b6 c3', { ebx: 0x1280 }).eax).toBe(0x80);
    expect(exec('0f b7 c3', { ebx: 0x128000 }).eax).toBe(0x8000);
    expect(exec('0f be c3', { ebx: 0x80 }).eax).toBe(0xffffff80);
    expect(exec('0f bf c3', { ebx: 0x8000 }).eax).toBe(0xffff8000);
    expect(exec('66 0f be c3', { ebx: 0x80, eax: 0x12345678 }).eax).toBe(0x1234ff80);
  });

  it('cbw, cwde, cwd, cdq', () => {
    expect(exec('66 98', { eax: 0x12340080 }).eax).toBe(0x1234ff80);
    expect(exec('98', { eax: 0x12348000 }).eax).toBe(0xffff8000);
    const cwd = exec('66 99', { eax: 0x8000, edx: 0x12345678 });
    expect(cwd.edx).toBe(0x1234ffff);
    expect(exec('99', { eax: 0x80000000 }).edx).toBe(0xffffffff);
    expect(exec('99', { eax: 1, edx: 0xffffffff }).edx).toBe(0);
  });
});

describe('XCHG, XADD', () => {
  it('xchg forms swap and change no flag', () => {
    const a = exec('93', { eax: 1, ebx: 2, flags: ALL });
    expect([a.eax, a.ebx, a.arith]).toEqual([2, 1, ALL]);
    expect(exec('86 e0', { eax: 0x1234 }).eax).toBe(0x3412);
    const m = exec('87 03', { eax: 7, ebx: DATA }, {}, (t) => t.write32(DATA, 9));
    expect([m.eax, m.read32(DATA)]).toEqual([9, 7]);
  });

  it('xadd eax,ebx: EBX ← old EAX, EAX ← sum, flags as ADD', () => {
    const m = exec('0f c1 d8', { eax: 0x7fffffff, ebx: 1 });
    expect([m.eax, m.ebx]).toEqual([0x80000000, 0x7fffffff]);
    expect(m.arith).toBe(fl('PF AF SF OF'));
  });

  it('xadd [ebx],eax and xadd al,bl', () => {
    const m = exec('0f c1 03', { eax: 3, ebx: DATA }, {}, (t) => t.write32(DATA, 5));
    expect([m.read32(DATA), m.eax]).toEqual([8, 5]);
    const b = exec('0f c0 d8', { eax: 0xff, ebx: 1 });
    expect([b.eax, b.ebx]).toEqual([0, 0xff]);
    expect(b.arith).toBe(fl('CF PF AF ZF'));
  });

  it('xadd eax,eax doubles (the sum is written last)', () => {
    expect(exec('0f c1 c0', { eax: 5 }).eax).toBe(10);
  });
});

describe('CMPXCHG', () => {
  it('equal: destination ← source, ZF = 1, flags as CMP', () => {
    const m = exec('0f b1 cb', { eax: 5, ebx: 5, ecx: 9 });
    expect([m.eax, m.ebx]).toEqual([5, 9]);
    expect(m.arith).toBe(fl('PF ZF'));
  });

  it('unequal: accumulator ← destination, ZF = 0', () => {
    const m = exec('0f b1 cb', { eax: 3, ebx: 5, ecx: 9 });
    expect([m.eax, m.ebx]).toEqual([5, 5]);
    expect(m.arith).toBe(fl('CF AF SF'));
  });

  it('8-bit and memory forms', () => {
    const b = exec('0f b0 cb', { eax: 0x1122, ebx: 0x3322, ecx: 0x44 });
    expect([b.eax, b.ebx]).toEqual([0x1122, 0x3344]);
    const m = exec('0f b1 0e', { eax: 1, ecx: 2, esi: DATA }, {}, (t) => t.write32(DATA, 1));
    expect(m.read32(DATA)).toBe(2);
    const u = exec('0f b1 0e', { eax: 7, ecx: 2, esi: DATA }, {}, (t) => t.write32(DATA, 1));
    expect([u.read32(DATA), u.eax]).toEqual([1, 1]);
  });

  it('unequal still writes the destination back: a read-only page faults with W set', () => {
    const m = exec('0f b1 0e', { eax: 7, ecx: 2, esi: DATA }, {}, (t) => {
      t.write32(DATA, 1);
      t.map(DATA, DATA, 0x65); // present, user, accessed, dirty; read-only
    });
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 3, faultEip: CODE, cr2: DATA });
    expect(m.eax).toBe(7);
  });
});

describe('CMPXCHG8B', () => {
  const set = (lo: number, hi: number) => (t: import('../testing.ts').TestMachine) => {
    t.write32(DATA, lo);
    t.write32(DATA + 4, hi);
  };

  it('equal: m64 ← ECX:EBX, ZF = 1, other flags unchanged', () => {
    const m = exec('0f c7 0e', { edx: 0x11111111, eax: 0x22222222, ecx: 0x33333333, ebx: 0x44444444, esi: DATA, flags: fl('CF SF') }, {}, set(0x22222222, 0x11111111));
    expect([m.read32(DATA), m.read32(DATA + 4)]).toEqual([0x44444444, 0x33333333]);
    expect(m.arith).toBe(fl('CF SF ZF'));
  });

  for (const [what, lo, hi] of [['low half differs', 0x22222223, 0x11111111], ['high half differs', 0x22222222, 0x11111112]] as const) {
    it(`unequal (${what}): EDX:EAX ← m64, ZF = 0, memory unchanged`, () => {
      const m = exec('0f c7 0e', { edx: 0x11111111, eax: 0x22222222, ecx: 0x33333333, ebx: 0x44444444, esi: DATA, flags: ALL }, {}, set(lo, hi));
      expect([m.edx, m.eax]).toEqual([hi, lo]);
      expect([m.read32(DATA), m.read32(DATA + 4)]).toEqual([lo, hi]);
      expect(m.arith).toBe(ALL & ~fl('ZF'));
    });
  }

  it('lock cmpxchg8b', () => {
    const m = exec('f0 0f c7 0e', { edx: 0, eax: 0, ecx: 1, ebx: 2, esi: DATA });
    expect([m.read32(DATA), m.read32(DATA + 4)]).toEqual([2, 1]);
  });

  it('a register operand is #UD', () => {
    const m = exec('0f c7 c8', {});
    expect(m.trap).toMatchObject({ vector: UD, faultEip: CODE });
  });

  it('the write is checked before anything changes (read-only page: #PF, EDX:EAX kept)', () => {
    const m = exec('0f c7 0e', { edx: 0, eax: 5, esi: DATA }, {}, (t) => {
      set(6, 0)(t);
      t.map(DATA, DATA, 0x65);
    });
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 3, faultEip: CODE });
    expect([m.edx, m.eax]).toEqual([0, 5]);
  });
});

describe('flag moves', () => {
  it('lahf: AH ← SF ZF 0 AF 0 PF 1 CF', () => {
    expect(exec('9f', { eax: 0, flags: ALL }).eax).toBe(0xd700);
    expect(exec('9f', { eax: 0xffff00ff, flags: 0 }).eax).toBe(0xffff02ff);
  });

  it('sahf loads SF ZF AF PF CF from AH and leaves OF and the reserved bits', () => {
    const m = exec('9e', { eax: 0xff00, flags: fl('OF') });
    expect(m.flags & 0xfff).toBe(0x2 | 0xd5 | fl('OF'));
    expect(exec('9e', { eax: 0, flags: ALL }).arith).toBe(fl('OF'));
  });

  it('cmc/clc/stc after a pending arithmetic result keep its other flags', () => {
    expect(exec('01 d8 f5', { eax: 0xffffffff, ebx: 1 }).arith).toBe(fl('PF AF ZF'));
    expect(exec('01 d8 f8', { eax: 0xffffffff, ebx: 1 }).arith).toBe(fl('PF AF ZF'));
    expect(exec('29 d8 f9', { eax: 5, ebx: 5 }).arith).toBe(fl('CF PF ZF'));
  });

  it('std/cld', () => {
    expect(exec('fd', {}).flags & fl('DF')).toBe(fl('DF'));
    expect(exec('fc', { flags: fl('DF') }).flags & fl('DF')).toBe(0);
  });
});

describe('LEA, XLAT, segment overrides, NOPs', () => {
  it('lea computes the offset only: no memory access, no flags', () => {
    const m = exec('8d 44 8b 10', { ebx: 0xfffffff0, ecx: 0x40000000, flags: ALL });
    expect(m.eax).toBe(0);
    expect(m.arith).toBe(ALL);
    expect(exec('66 8d 44 8b 10', { eax: 0x12345678, ebx: 0x1fff0, ecx: 1 }).eax).toBe(0x12340004);
  });

  it('xlat: AL ← [EBX + unsigned AL]', () => {
    const m = exec('d7', { eax: 0x1180, ebx: DATA }, {}, (t) => t.write8(DATA + 0x80, 0x5a));
    expect(m.eax).toBe(0x115a);
  });

  it('an FS override adds the FS base', () => {
    const m = exec(['64 a1 10 00 00 00', '64 8b 0b'], { ebx: 0x20 }, {}, (t) => {
      t.cpu.setSegment(FS, 0x33, DATA);
      t.write32(DATA + 0x10, 0xf00d);
      t.write32(DATA + 0x20, 0xbeef);
    });
    expect([m.eax, m.ecx]).toEqual([0xf00d, 0xbeef]);
  });

  it('mov r/m,Sreg and mov Sreg,r/m with a null selector', () => {
    const m = exec(['66 8c c0', '8c c1', '8e c2'], { eax: 0xffffffff, ecx: 0xffffffff, edx: 0 });
    expect(m.eax).toBe(0xffff0010);
    expect(m.ecx).toBe(0x10);
    expect(m.cpu.sel[0]).toBe(0);
  });

  it('mov cs,r/m is #UD; mov ss with a null selector is #GP(0)', () => {
    expect(exec('8e c8', { eax: 0x08 }).trap).toMatchObject({ vector: UD, faultEip: CODE });
    expect(exec('8e d0', { eax: 0 }).trap).toMatchObject({ vector: GP, errorCode: 0, faultEip: CODE });
  });

  it('multi-byte NOPs and ENDBR32 do nothing, not even a memory access', () => {
    const m = exec(['0f 1f 04 00', '0f 1f 80 00 00 00 00', 'f3 0f 1e fb', '66 90', '90'], { eax: 0, flags: ALL });
    expect(m.completed).toBe(true);
    expect(m.arith).toBe(ALL & ARITH);
    expect(m.cpu.icount).toBe(6);
  });
});
