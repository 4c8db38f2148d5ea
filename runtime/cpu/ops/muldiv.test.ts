/**
 * MUL, IMUL (one-, two-, three-operand), DIV, IDIV (SDM Vol. 2A "DIV", "IDIV", "IMUL", "MUL").
 * MUL/IMUL: CF = OF = "the upper half is significant"; SF ZF AF PF undefined (not compared).
 * DIV/IDIV: flags undefined; #DE for a zero divisor or a quotient that does not fit, raised
 * before anything is written (a fault: EIP at the DIV, state unchanged).
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, exec, fl, type Reg, type Setup } from '../testing.ts';
import { DE } from '../constants.ts';

interface Case {
  name: string;
  code: string;
  setup: Setup;
  expect: Partial<Record<Reg, number>>;
  /** CF = OF expected (multiplies only). */
  carry?: boolean;
}

const mul: Case[] = [
  { name: 'mul ebx: ffffffff²', code: 'f7 e3', setup: { eax: 0xffffffff, ebx: 0xffffffff }, expect: { edx: 0xfffffffe, eax: 1 }, carry: true },
  { name: 'mul ebx: small product clears EDX, CF, OF', code: 'f7 e3', setup: { eax: 3, ebx: 5, edx: 0x12345678, flags: fl('CF OF') }, expect: { edx: 0, eax: 15 }, carry: false },
  { name: 'mul bl: AX only, EDX untouched', code: 'f6 e3', setup: { eax: 0xabcd0080, ebx: 2, edx: 0xdeadbeef }, expect: { eax: 0xabcd0100, edx: 0xdeadbeef }, carry: true },
  { name: 'mul bl: product fits in AL', code: 'f6 e3', setup: { eax: 0xff10, ebx: 0x0f }, expect: { eax: 0x00f0 }, carry: false },
  { name: 'mul bx: DX:AX, upper halves kept', code: '66 f7 e3', setup: { eax: 0x1111ffff, ebx: 2, edx: 0x22223333 }, expect: { eax: 0x1111fffe, edx: 0x22220001 }, carry: true },
  { name: 'imul ebx: -1 × 1 is a sign extension (CF = 0)', code: 'f7 eb', setup: { eax: 0xffffffff, ebx: 1 }, expect: { edx: 0xffffffff, eax: 0xffffffff }, carry: false },
  { name: 'imul ebx: -2^31 × -1 = 2^31 does not fit', code: 'f7 eb', setup: { eax: 0x80000000, ebx: 0xffffffff }, expect: { edx: 0, eax: 0x80000000 }, carry: true },
  { name: 'imul ebx: 2^16 × 2^16', code: 'f7 eb', setup: { eax: 0x10000, ebx: 0x10000 }, expect: { edx: 1, eax: 0 }, carry: true },
  { name: 'imul bl: -128 × -1 = 128', code: 'f6 eb', setup: { eax: 0x80, ebx: 0xff }, expect: { eax: 0x0080 }, carry: true },
  { name: 'imul bl: -2 × 3 = -6 fits', code: 'f6 eb', setup: { eax: 0xfe, ebx: 3 }, expect: { eax: 0xfffa }, carry: false },
  { name: 'imul bx: -1 × -1', code: '66 f7 eb', setup: { eax: 0x7777ffff, ebx: 0xffff, edx: 0x8888aaaa }, expect: { eax: 0x77770001, edx: 0x88880000 }, carry: false },
  { name: 'imul eax,ebx: truncated, EDX untouched', code: '0f af c3', setup: { eax: 0x10000, ebx: 0x10000, edx: 7 }, expect: { eax: 0, edx: 7 }, carry: true },
  { name: 'imul eax,ebx,-2 (6B: imm8 sign-extended)', code: '6b c3 fe', setup: { ebx: 3 }, expect: { eax: 0xfffffffa }, carry: false },
  { name: 'imul eax,ebx,10000h (69): 2^31 does not fit', code: '69 c3 00 00 01 00', setup: { ebx: 0x8000 }, expect: { eax: 0x80000000 }, carry: true },
  { name: 'imul ax,bx: 100h × 100h', code: '66 0f af c3', setup: { eax: 0x55550100, ebx: 0x100 }, expect: { eax: 0x55550000 }, carry: true },
  { name: 'imul ax,bx: -80h × 100h = -8000h fits', code: '66 0f af c3', setup: { eax: 0xff80, ebx: 0x100 }, expect: { eax: 0x8000 }, carry: false },
];

const div: Case[] = [
  { name: 'div ebx: 1_00000000h / 2', code: 'f7 f3', setup: { edx: 1, eax: 0, ebx: 2 }, expect: { eax: 0x80000000, edx: 0 } },
  { name: 'div ebx: 100 / 7', code: 'f7 f3', setup: { edx: 0, eax: 100, ebx: 7 }, expect: { eax: 14, edx: 2 } },
  { name: 'div ebx: the largest quotient', code: 'f7 f3', setup: { edx: 0xfffffffe, eax: 0xffffffff, ebx: 0xffffffff }, expect: { eax: 0xffffffff, edx: 0xfffffffe } },
  { name: 'div bl: 1ffh / 2', code: 'f6 f3', setup: { eax: 0x1ff, ebx: 2 }, expect: { eax: 0x01ff } },
  { name: 'div bx: 1_0000h / 2', code: '66 f7 f3', setup: { edx: 1, eax: 0, ebx: 2 }, expect: { eax: 0x8000, edx: 0 } },
  { name: 'idiv ebx: -7 / 2 = -3 rem -1 (truncation)', code: 'f7 fb', setup: { edx: 0xffffffff, eax: 0xfffffff9, ebx: 2 }, expect: { eax: 0xfffffffd, edx: 0xffffffff } },
  { name: 'idiv ebx: 7 / -2 = -3 rem 1', code: 'f7 fb', setup: { edx: 0, eax: 7, ebx: 0xfffffffe }, expect: { eax: 0xfffffffd, edx: 1 } },
  { name: 'idiv ebx: -2^31 / 1', code: 'f7 fb', setup: { edx: 0xffffffff, eax: 0x80000000, ebx: 1 }, expect: { eax: 0x80000000, edx: 0 } },
  { name: 'idiv bl: -128 / 1', code: 'f6 fb', setup: { eax: 0xff80, ebx: 1 }, expect: { eax: 0x0080 } },
  { name: 'idiv bl: 128 / -1 = -128 fits', code: 'f6 fb', setup: { eax: 0x0080, ebx: 0xff }, expect: { eax: 0x0080 } },
  { name: 'idiv bl: -7 / 2', code: 'f6 fb', setup: { eax: 0xfff9, ebx: 2 }, expect: { eax: 0xfffd } },
  { name: 'idiv bx: -32768 / 1', code: '66 f7 fb', setup: { edx: 0xffff, eax: 0x8000, ebx: 1 }, expect: { eax: 0x8000, edx: 0 } },
];

describe('multiply', () => {
  for (const c of mul) {
    it(c.name, () => {
      const m = exec(c.code, c.setup);
      expect(m.completed).toBe(true);
      for (const [r, v] of Object.entries(c.expect)) expect(m.reg(r as Reg), r).toBe(v >>> 0);
      expect(m.arith & fl('CF OF')).toBe(c.carry ? fl('CF OF') : 0);
    });
  }

  it('mul dword [ebx]', () => {
    const m = exec('f7 23', { eax: 0x10000, ebx: DATA }, {}, (t) => t.write32(DATA, 0x30000));
    expect([m.edx, m.eax]).toEqual([3, 0]);
  });

  it('imul eax,[ebx]', () => {
    const m = exec('0f af 03', { eax: 0xfffffffd, ebx: DATA }, {}, (t) => t.write32(DATA, 7));
    expect(m.eax).toBe(0xffffffeb);
  });
});

describe('divide', () => {
  for (const c of div) {
    it(c.name, () => {
      const m = exec(c.code, c.setup);
      expect(m.completed).toBe(true);
      for (const [r, v] of Object.entries(c.expect)) expect(m.reg(r as Reg), r).toBe(v >>> 0);
    });
  }
});

describe('divide error (#DE) is a fault: EIP at the DIV, nothing written', () => {
  const faults: [string, string, Setup][] = [
    ['div ebx by zero', 'f7 f3', { edx: 0, eax: 5, ebx: 0 }],
    ['div ebx: quotient needs 33 bits', 'f7 f3', { edx: 2, eax: 0, ebx: 2 }],
    ['div bl by zero', 'f6 f3', { eax: 5, ebx: 0 }],
    ['div bl: quotient 100h', 'f6 f3', { eax: 0x200, ebx: 2 }],
    ['div bx: quotient 10000h', '66 f7 f3', { edx: 2, eax: 0, ebx: 2 }],
    ['idiv ebx by zero', 'f7 fb', { edx: 0, eax: 1, ebx: 0 }],
    ['idiv ebx: -2^31 / -1', 'f7 fb', { edx: 0xffffffff, eax: 0x80000000, ebx: 0xffffffff }],
    ['idiv ebx: +2^31 / 1', 'f7 fb', { edx: 0, eax: 0x80000000, ebx: 1 }],
    ['idiv bl: -128 / -1', 'f6 fb', { eax: 0xff80, ebx: 0xff }],
    ['idiv bl: -129 / 1', 'f6 fb', { eax: 0xff7f, ebx: 1 }],
    ['idiv bl by zero', 'f6 fb', { eax: 0x10, ebx: 0 }],
    ['idiv bx: -32768 / -1', '66 f7 fb', { edx: 0xffff, eax: 0x8000, ebx: 0xffff }],
  ];
  for (const [name, code, setup] of faults) {
    it(name, () => {
      const m = exec(`90 ${code}`, { ...setup, flags: fl('CF ZF') });
      const before = { ...setup };
      expect(m.trap).toMatchObject({ vector: DE, errorCode: -1, soft: false, faultEip: CODE + 1, eip: CODE + 1 });
      for (const r of ['eax', 'ebx', 'edx'] as const) if (before[r] !== undefined) expect(m.reg(r), r).toBe(before[r]! >>> 0);
      expect(m.arith).toBe(fl('CF ZF'));
      expect(m.cpu.icount).toBe(1); // the NOP retired, the DIV did not
    });
  }

  it('div dword [ebx] by a zero in memory', () => {
    const m = exec('f7 33', { edx: 0, eax: 9, ebx: DATA });
    expect(m.trap).toMatchObject({ vector: DE, faultEip: CODE });
    expect(m.eax).toBe(9);
  });
});
