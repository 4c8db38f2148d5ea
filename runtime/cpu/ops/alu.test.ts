/**
 * ADD OR ADC SBB AND SUB XOR CMP, INC DEC NEG NOT TEST. Expected values are worked out by hand
 * from the SDM (Vol. 1 §3.4.3.1 status flags; Vol. 2 "Flags Affected" of each instruction),
 * never read back from the implementation.
 */
import { describe, expect, it } from 'vitest';
import { DATA, exec, fl, le32, type Setup } from '../testing.ts';
import { ARITH, AF } from '../constants.ts';

interface Case {
  name: string;
  code: string;
  setup: Setup;
  expect: Partial<Record<'eax' | 'ebx' | 'ecx', number>>;
  /** Arithmetic flags that must be set (all others of the six clear). */
  flags: string;
  /** Flags the SDM leaves undefined for this instruction. */
  undef?: number;
}

const ALL = fl('CF PF AF ZF SF OF');

const cases: Case[] = [
  // ADD: CF = unsigned carry out, OF = signed overflow, AF = carry out of bit 3, PF = even parity of the low byte.
  { name: 'add 7fffffff+1 overflows into the sign', code: '01 d8', setup: { eax: 0x7fffffff, ebx: 1 }, expect: { eax: 0x80000000 }, flags: 'PF AF SF OF' },
  { name: 'add ffffffff+1 carries to zero', code: '01 d8', setup: { eax: 0xffffffff, ebx: 1 }, expect: { eax: 0 }, flags: 'CF PF AF ZF' },
  { name: 'add with no carry anywhere', code: '01 d8', setup: { eax: 0x12345678, ebx: 0x11111111 }, expect: { eax: 0x23456789 }, flags: '' },
  { name: 'add al,bl 80+80: carry and overflow, upper bytes kept', code: '00 d8', setup: { eax: 0x12345680, ebx: 0x80 }, expect: { eax: 0x12345600 }, flags: 'CF PF ZF OF' },
  { name: 'add ax,bx 7fff+1: 16-bit overflow, upper half kept', code: '66 01 d8', setup: { eax: 0xabcd7fff, ebx: 1 }, expect: { eax: 0xabcd8000 }, flags: 'PF AF SF OF' },
  { name: 'add ah,bh (high-byte registers)', code: '00 fc', setup: { eax: 0x11220133, ebx: 0xff00 }, expect: { eax: 0x11220033 }, flags: 'CF PF AF ZF' },
  { name: 'add eax,-1 (83: sign-extended imm8)', code: '83 c0 ff', setup: { eax: 1 }, expect: { eax: 0 }, flags: 'CF PF AF ZF' },
  { name: 'add al,1 through the 82 alias', code: '82 c0 01', setup: { eax: 0x7f }, expect: { eax: 0x80 }, flags: 'AF SF OF' },
  // SUB / CMP: CF = borrow, OF = signed overflow.
  { name: 'sub 0-1 borrows', code: '29 d8', setup: { eax: 0, ebx: 1 }, expect: { eax: 0xffffffff }, flags: 'CF PF AF SF' },
  { name: 'sub 80000000-1 overflows', code: '29 d8', setup: { eax: 0x80000000, ebx: 1 }, expect: { eax: 0x7fffffff }, flags: 'PF AF OF' },
  { name: 'sub equal gives zero', code: '29 d8', setup: { eax: 5, ebx: 5 }, expect: { eax: 0 }, flags: 'PF ZF' },
  { name: 'cmp sets flags and writes nothing', code: '39 d8', setup: { eax: 3, ebx: 5 }, expect: { eax: 3, ebx: 5 }, flags: 'CF AF SF' },
  { name: 'cmp al,80h: 0 - (-128) overflows', code: '3c 80', setup: { eax: 0 }, expect: { eax: 0 }, flags: 'CF SF OF' },
  { name: 'sub al,1 from 0', code: '2c 01', setup: { eax: 0x100 }, expect: { eax: 0x1ff }, flags: 'CF PF AF SF' },
  // ADC: DEST + SRC + CF.
  { name: 'adc ffffffff+0+CF carries to zero', code: '11 d8', setup: { eax: 0xffffffff, ebx: 0, flags: fl('CF') }, expect: { eax: 0 }, flags: 'CF PF AF ZF' },
  { name: 'adc 7fffffff+0+CF overflows', code: '11 d8', setup: { eax: 0x7fffffff, ebx: 0, flags: fl('CF') }, expect: { eax: 0x80000000 }, flags: 'PF AF SF OF' },
  { name: 'adc 5+ffffffff+CF wraps to 5 with carry', code: '11 d8', setup: { eax: 5, ebx: 0xffffffff, flags: fl('CF') }, expect: { eax: 5 }, flags: 'CF PF AF' },
  { name: 'adc with CF clear is add', code: '11 d8', setup: { eax: 1, ebx: 0xffffffff }, expect: { eax: 0 }, flags: 'CF PF AF ZF' },
  { name: 'adc al: ff+0+CF', code: '10 d8', setup: { eax: 0xff, ebx: 0, flags: fl('CF') }, expect: { eax: 0 }, flags: 'CF PF AF ZF' },
  { name: 'adc al: 7f+0+CF overflows', code: '10 d8', setup: { eax: 0x7f, ebx: 0, flags: fl('CF') }, expect: { eax: 0x80 }, flags: 'AF SF OF' },
  { name: 'adc eax,imm32 with CF', code: '15 78 56 34 12', setup: { eax: 0, flags: fl('CF') }, expect: { eax: 0x12345679 }, flags: '' },
  // SBB: DEST - (SRC + CF).
  { name: 'sbb 0-0-CF borrows', code: '19 d8', setup: { eax: 0, ebx: 0, flags: fl('CF') }, expect: { eax: 0xffffffff }, flags: 'CF PF AF SF' },
  { name: 'sbb 5-ffffffff-CF wraps to 5 with borrow', code: '19 d8', setup: { eax: 5, ebx: 0xffffffff, flags: fl('CF') }, expect: { eax: 5 }, flags: 'CF PF AF' },
  { name: 'sbb 80000000-0-CF overflows', code: '19 d8', setup: { eax: 0x80000000, ebx: 0, flags: fl('CF') }, expect: { eax: 0x7fffffff }, flags: 'PF AF OF' },
  { name: 'sbb with CF clear is sub', code: '19 d8', setup: { eax: 5, ebx: 3 }, expect: { eax: 2 }, flags: '' },
  { name: 'sbb x-x-CF borrows', code: '19 d8', setup: { eax: 7, ebx: 7, flags: fl('CF') }, expect: { eax: 0xffffffff }, flags: 'CF PF AF SF' },
  { name: 'sbb al: 80-0-CF overflows', code: '18 d8', setup: { eax: 0x80, ebx: 0, flags: fl('CF') }, expect: { eax: 0x7f }, flags: 'AF OF' },
  // INC/DEC: CF is not affected (SDM Vol. 2A "INC", "DEC").
  { name: 'inc ffffffff keeps CF set', code: '40', setup: { eax: 0xffffffff, flags: fl('CF') }, expect: { eax: 0 }, flags: 'CF PF AF ZF' },
  { name: 'inc ffffffff keeps CF clear', code: '40', setup: { eax: 0xffffffff }, expect: { eax: 0 }, flags: 'PF AF ZF' },
  { name: 'inc 7fffffff overflows', code: '40', setup: { eax: 0x7fffffff }, expect: { eax: 0x80000000 }, flags: 'PF AF SF OF' },
  { name: 'dec 0 keeps CF set', code: '48', setup: { eax: 0, flags: fl('CF') }, expect: { eax: 0xffffffff }, flags: 'CF PF AF SF' },
  { name: 'dec 0 does not set CF', code: '48', setup: { eax: 0 }, expect: { eax: 0xffffffff }, flags: 'PF AF SF' },
  { name: 'dec 80000000 overflows', code: '48', setup: { eax: 0x80000000 }, expect: { eax: 0x7fffffff }, flags: 'PF AF OF' },
  { name: 'inc after an add that carried keeps that carry', code: '01 d8 41', setup: { eax: 0xffffffff, ebx: 1, ecx: 0 }, expect: { eax: 0, ecx: 1 }, flags: 'CF' },
  { name: 'dec after a sub that borrowed keeps that borrow', code: '29 d8 49', setup: { eax: 0, ebx: 1, ecx: 2 }, expect: { ecx: 1 }, flags: 'CF' },
  { name: 'adc reads the carry of a pending sub', code: '29 d8 11 d1', setup: { eax: 1, ebx: 2, ecx: 0, edx: 0 }, expect: { ecx: 1 }, flags: '' },
  // NEG: 0 - DEST; CF = (DEST != 0).
  { name: 'neg 0', code: 'f7 d8', setup: { eax: 0, flags: fl('CF') }, expect: { eax: 0 }, flags: 'PF ZF' },
  { name: 'neg 5', code: 'f7 d8', setup: { eax: 5 }, expect: { eax: 0xfffffffb }, flags: 'CF AF SF' },
  { name: 'neg 80000000 overflows', code: 'f7 d8', setup: { eax: 0x80000000 }, expect: { eax: 0x80000000 }, flags: 'CF PF SF OF' },
  { name: 'neg al 80', code: 'f6 d8', setup: { eax: 0x80 }, expect: { eax: 0x80 }, flags: 'CF SF OF' },
  // NOT changes no flag.
  { name: 'not keeps every flag (all set)', code: 'f7 d0', setup: { eax: 0x0f0f0f0f, flags: ALL }, expect: { eax: 0xf0f0f0f0 }, flags: 'CF PF AF ZF SF OF' },
  { name: 'not keeps every flag (all clear)', code: 'f7 d0', setup: { eax: 0 }, expect: { eax: 0xffffffff }, flags: '' },
  // Logic: CF = OF = 0, SF ZF PF from the result, AF undefined.
  { name: 'and clears CF and OF', code: '21 d8', setup: { eax: 0xf0f0f0f0, ebx: 0x0ff00ff0, flags: ALL }, expect: { eax: 0x00f000f0 }, flags: 'PF', undef: AF },
  { name: 'or', code: '09 d8', setup: { eax: 0x80000000, ebx: 1, flags: ALL }, expect: { eax: 0x80000001 }, flags: 'SF', undef: AF },
  { name: 'xor to zero', code: '31 d8', setup: { eax: 0x1234, ebx: 0x1234, flags: fl('CF OF') }, expect: { eax: 0 }, flags: 'PF ZF', undef: AF },
  { name: 'test writes nothing', code: '85 d8', setup: { eax: 0x80, ebx: 0x80, flags: ALL }, expect: { eax: 0x80 }, flags: '', undef: AF },
  { name: 'test al,80h', code: 'a8 80', setup: { eax: 0x80 }, expect: { eax: 0x80 }, flags: 'SF', undef: AF },
];

describe('ALU register forms', () => {
  for (const c of cases) {
    it(c.name, () => {
      const m = exec(c.code, c.setup);
      expect(m.completed).toBe(true);
      for (const [r, v] of Object.entries(c.expect)) expect(m.reg(r as 'eax'), r).toBe(v >>> 0);
      const mask = ARITH & ~(c.undef ?? 0);
      expect(m.arith & mask).toBe(fl(c.flags) & mask);
    });
  }
});

describe('ALU memory forms', () => {
  it('add [ebx],eax', () => {
    const m = exec('01 03', { eax: 1, ebx: DATA }, {}, (t) => t.write32(DATA, 0x7fffffff));
    expect(m.completed).toBe(true);
    expect(m.read32(DATA)).toBe(0x80000000);
    expect(m.arith).toBe(fl('PF AF SF OF'));
  });

  it('lock add [ebx],eax', () => {
    const m = exec('f0 01 03', { eax: 5, ebx: DATA }, {}, (t) => t.write32(DATA, 7));
    expect(m.completed).toBe(true);
    expect(m.read32(DATA)).toBe(12);
  });

  it('add word [ebx],1234h leaves the upper word', () => {
    const m = exec('66 81 03 34 12', { ebx: DATA }, {}, (t) => t.write32(DATA, 0xffffedcc));
    expect(m.read32(DATA)).toBe(0xffff0000);
    expect(m.arith).toBe(fl('CF PF AF ZF'));
  });

  it('inc byte [ebx] wraps and keeps CF', () => {
    const m = exec('fe 03', { ebx: DATA, flags: fl('CF') }, {}, (t) => t.write32(DATA, 0x123456ff));
    expect(m.read32(DATA)).toBe(0x12345600);
    expect(m.arith).toBe(fl('CF PF AF ZF'));
  });

  it('sbb dword [ebx],1 with CF', () => {
    const m = exec('83 1b 01', { ebx: DATA, flags: fl('CF') }, {}, (t) => t.write32(DATA, 2));
    expect(m.read32(DATA)).toBe(0);
    expect(m.arith).toBe(fl('PF ZF'));
  });

  it('add eax,[disp32] (absolute address)', () => {
    const m = exec(`03 05 ${le32(DATA + 8)}`, { eax: 0x10 }, {}, (t) => t.write32(DATA + 8, 0x20));
    expect(m.eax).toBe(0x30);
  });

  it('neg [mem] and not [mem]', () => {
    const m = exec(['f7 1b', 'f7 53 04'], { ebx: DATA }, {}, (t) => {
      t.write32(DATA, 1);
      t.write32(DATA + 4, 0x0000ffff);
    });
    expect(m.read32(DATA)).toBe(0xffffffff);
    expect(m.read32(DATA + 4)).toBe(0xffff0000);
    expect(m.arith).toBe(fl('CF PF AF SF'));
  });
});
