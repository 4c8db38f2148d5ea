/**
 * PUSH/POP (incl. the ESP special cases), PUSHA/POPA, PUSHF/POPF privilege rules, ENTER/LEAVE
 * (SDM Vol. 2B "PUSH", "POP", "PUSHA", "POPA", "PUSHF", "POPF", "ENTER", "LEAVE").
 */
import { describe, expect, it } from 'vitest';
import { CODE, STACK_TOP, exec, fl, le32 } from '../testing.ts';
import { IF, IOPL, PFV } from '../constants.ts';

const X = STACK_TOP;

describe('PUSH and POP with ESP', () => {
  it('push esp pushes the value ESP had before the push', () => {
    const m = exec('54', {});
    expect(m.esp).toBe(X - 4);
    expect(m.read32(X - 4)).toBe(X);
  });

  it('pop esp loads ESP from the stack (the increment is lost)', () => {
    const m = exec('5c', {}, {}, (t) => t.write32(X, 0x12340));
    expect(m.esp).toBe(0x12340);
  });

  it('pop [esp] computes the address after ESP is incremented', () => {
    const m = exec('8f 04 24', {}, {}, (t) => t.write32(X, 0xabcd));
    expect(m.esp).toBe(X + 4);
    expect(m.read32(X + 4)).toBe(0xabcd);
  });

  it('pop [esp+4] likewise', () => {
    const m = exec('8f 44 24 04', {}, {}, (t) => t.write32(X, 0xabcd));
    expect(m.read32(X + 8)).toBe(0xabcd);
  });

  it('push [esp] and push [esp+4] compute the address before the decrement', () => {
    const m = exec(['ff 34 24', 'ff 74 24 08'], {}, {}, (t) => {
      t.write32(X, 0x1111);
      t.write32(X + 4, 0x2222);
    });
    // The second push reads [ESP+8] with ESP = X-4, i.e. X+4.
    expect([m.esp, m.read32(X - 4), m.read32(X - 8)]).toEqual([X - 8, 0x1111, 0x2222]);
  });

  it('16-bit push/pop move ESP by 2', () => {
    const m = exec(['66 50', '66 6a ff', '66 58'], { eax: 0x12345678 });
    expect(m.esp).toBe(X - 2);
    expect(m.read16(X - 2)).toBe(0x5678);
    expect(m.eax).toBe(0x1234ffff);
  });

  it('push imm8 is sign-extended; push imm32', () => {
    const m = exec(['6a ff', '68 78 56 34 12'], {});
    expect([m.read32(X - 4), m.read32(X - 8)]).toEqual([0xffffffff, 0x12345678]);
  });

  it('push ds writes the selector and moves ESP by 4; pop ds loads it', () => {
    const m = exec(['1e', '6a 00', '1f'], {});
    expect(m.read16(X - 4)).toBe(0x10);
    expect(m.esp).toBe(X - 4);
    expect(m.cpu.sel[3]).toBe(0);
  });

  it('a push to a not-present stack page faults with ESP unchanged', () => {
    const m = exec('53', { esp: 0x401000, ebx: 5 }, {}, (t) => t.setPte(0x400000, 0));
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 2, faultEip: CODE, cr2: 0x400ffc });
    expect(m.esp).toBe(0x401000);
  });
});

describe('PUSHA / POPA', () => {
  it('pusha stores EAX ECX EDX EBX, the original ESP, EBP ESI EDI', () => {
    const m = exec('60', { eax: 1, ecx: 2, edx: 3, ebx: 4, ebp: 6, esi: 7, edi: 8 });
    const words = Array.from({ length: 8 }, (_, k) => m.read32(X - 4 - 4 * k));
    expect(words).toEqual([1, 2, 3, 4, X, 6, 7, 8]);
    expect(m.esp).toBe(X - 32);
  });

  it('popa restores all but ESP, which only moves past the frame', () => {
    const m = exec('61', { esp: X - 32 }, {}, (t) => {
      [8, 7, 6, 0xdead, 4, 3, 2, 1].forEach((v, k) => t.write32(X - 32 + 4 * k, v));
    });
    expect([m.eax, m.ecx, m.edx, m.ebx, m.esp, m.ebp, m.esi, m.edi]).toEqual([1, 2, 3, 4, X, 6, 7, 8]);
  });
});

/** push imm32; popf; pushf; pop eax — EAX holds EFLAGS after the POPF. */
const popfThenRead = (v: number): string => `68 ${le32(v)} 9d 9c 58`;

describe('PUSHF / POPF', () => {
  it('ring 0 may change IF and IOPL; reserved bits keep their fixed values; RF and VM stay clear', () => {
    const m = exec(popfThenRead(0xfffffeff), { flags: 0x2 });
    // Writable: CF PF AF ZF SF (TF excluded here) IF DF OF IOPL NT AC ID; bit 1 is 1; 3, 5, 15 are 0.
    expect(m.eax).toBe(0x00247ed7);
  });

  it('ring 3 (IOPL 0): IF and IOPL silently keep their values, the rest changes', () => {
    const m = exec(popfThenRead(0x3000 | fl('CF DF')), { cpl: 3, flags: 0x202 });
    expect(m.completed).toBe(true);
    expect(m.eax).toBe(0x202 | fl('CF DF'));
  });

  it('ring 3 with IOPL 3 may change IF but still not IOPL', () => {
    const m = exec(popfThenRead(0x0002), { cpl: 3, flags: 0x3202 });
    expect(m.eax & (IF | IOPL)).toBe(IOPL);
  });

  it('ring 1 with IOPL 1 may change IF, not IOPL', () => {
    const m = exec(popfThenRead(0x3002), { cpl: 1, flags: 0x1202 });
    expect(m.eax & (IF | IOPL)).toBe(0x1000);
  });

  it('ring 1 with IOPL 0 may change neither', () => {
    const m = exec(popfThenRead(0x3002), { cpl: 1, flags: 0x0202 });
    expect(m.eax & (IF | IOPL)).toBe(IF);
  });

  it('popfw changes only the low 16 bits', () => {
    // push imm32 (low word = the 16-bit image); popfw; pushf; pop eax
    const m = exec(`68 ${le32(0x0001)} 66 9d 9c 58`, { flags: 0x240002 | fl('ZF') });
    expect(m.eax).toBe(0x240003);
    expect(m.esp).toBe(X - 2);
  });

  it('pushf stores EFLAGS with VM and RF clear; pushfw stores the low word', () => {
    const m = exec(['9c', '66 9c'], { flags: 0x246 | fl('OF') });
    expect(m.read32(X - 4)).toBe(0xa46);
    expect(m.read16(X - 6)).toBe(0xa46);
  });
});

describe('ENTER / LEAVE', () => {
  it('enter 16,0: push EBP, EBP ← ESP, reserve 16 bytes', () => {
    const m = exec('c8 10 00 00', { ebp: 0x12345678 });
    expect([m.read32(X - 4), m.ebp, m.esp]).toEqual([0x12345678, X - 4, X - 4 - 16]);
  });

  it('enter 8,1: the frame pointer is pushed once more (the display)', () => {
    const m = exec('c8 08 00 01', { ebp: 0x80000 });
    expect([m.read32(X - 4), m.read32(X - 8)]).toEqual([0x80000, X - 4]);
    expect([m.ebp, m.esp]).toEqual([X - 4, X - 8 - 8]);
  });

  it('enter 20h,3 copies two display entries from the enclosing frame', () => {
    const m = exec('c8 20 00 03', { ebp: 0x80000 }, {}, (t) => {
      t.write32(0x80000 - 4, 0xaaaa);
      t.write32(0x80000 - 8, 0xbbbb);
    });
    expect([m.read32(X - 4), m.read32(X - 8), m.read32(X - 12), m.read32(X - 16)]).toEqual([0x80000, 0xaaaa, 0xbbbb, X - 4]);
    expect([m.ebp, m.esp]).toEqual([X - 4, X - 16 - 0x20]);
  });

  it('the nesting level is taken modulo 32 (33 acts as 1)', () => {
    const m = exec('c8 08 00 21', { ebp: 0x80000 });
    expect([m.ebp, m.esp, m.read32(X - 8)]).toEqual([X - 4, X - 16, X - 4]);
  });

  it('enter on a not-present stack page is restartable: EBP and ESP unchanged', () => {
    const m = exec('c8 10 00 02', { esp: 0x401000, ebp: 0x80000 }, {}, (t) => t.setPte(0x400000, 0));
    expect(m.trap).toMatchObject({ vector: PFV, faultEip: CODE });
    expect([m.esp, m.ebp]).toEqual([0x401000, 0x80000]);
  });

  it('leave: ESP ← EBP, pop EBP', () => {
    const m = exec('c9', { ebp: X - 16 }, {}, (t) => t.write32(X - 16, 0x4242));
    expect([m.esp, m.ebp]).toEqual([X - 12, 0x4242]);
  });

  it('enter then leave restore ESP and EBP', () => {
    const m = exec(['c8 20 00 03', 'c9'], { ebp: 0x80000 });
    expect([m.esp, m.ebp]).toEqual([X, 0x80000]);
  });
});
