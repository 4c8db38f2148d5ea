/**
 * DAA DAS AAA AAS AAM AAD (SDM Vol. 2A: each entry's Operation pseudo-code and its worked
 * examples). Undefined flags are masked: DAA/DAS OF; AAA/AAS OF SF ZF PF; AAM/AAD OF AF CF.
 */
import { describe, expect, it } from 'vitest';
import { CODE, exec, fl } from '../testing.ts';
import { DE } from '../constants.ts';

const flagsOf = (m: ReturnType<typeof exec>, undef: string): number => m.arith & ~fl(undef);

describe('DAA / DAS', () => {
  it('SDM example: add al,bl (79h+35h = AEh) then daa gives 14h with CF', () => {
    const m = exec('00 d8 27', { eax: 0x79, ebx: 0x35 });
    expect(m.eax & 0xff).toBe(0x14);
    expect(flagsOf(m, 'OF')).toBe(fl('CF PF AF'));
  });

  it('daa with AF from the addition (09h+09h = 12h, AF) gives 18h', () => {
    const m = exec('00 d8 27', { eax: 0x09, ebx: 0x09 });
    expect(m.eax & 0xff).toBe(0x18);
    expect(flagsOf(m, 'OF')).toBe(fl('PF AF'));
  });

  it('daa of 99h + 01h = 9Ah → 00h with CF (decimal 100)', () => {
    const m = exec('00 d8 27', { eax: 0x99, ebx: 0x01 });
    expect(m.eax & 0xff).toBe(0x00);
    expect(flagsOf(m, 'OF')).toBe(fl('CF PF AF ZF'));
  });

  it('SDM example: sub al,bl (35h-47h = EEh) then das gives 88h with CF', () => {
    const m = exec('28 d8 2f', { eax: 0x35, ebx: 0x47 });
    expect(m.eax & 0xff).toBe(0x88);
    expect(flagsOf(m, 'OF')).toBe(fl('CF PF AF SF'));
  });

  it('das without adjustment keeps AL and clears CF, AF', () => {
    const m = exec('2f', { eax: 0x42 });
    expect(m.eax & 0xff).toBe(0x42);
    expect(flagsOf(m, 'OF')).toBe(fl('PF'));
  });
});

describe('AAA / AAS', () => {
  it('aaa after 09h + 08h (AF set): AX += 106h, AL &= 0Fh', () => {
    const m = exec('04 08 37', { eax: 0x0009 });
    expect(m.eax & 0xffff).toBe(0x0107);
    expect(flagsOf(m, 'OF SF ZF PF')).toBe(fl('CF AF'));
  });

  it('aaa with a low nibble above 9', () => {
    const m = exec('37', { eax: 0x000b });
    expect(m.eax & 0xffff).toBe(0x0101);
    expect(flagsOf(m, 'OF SF ZF PF')).toBe(fl('CF AF'));
  });

  it('aaa without adjustment clears CF and AF and masks AL', () => {
    const m = exec('37', { eax: 0x0035, flags: fl('CF') });
    expect(m.eax & 0xffff).toBe(0x0005);
    expect(flagsOf(m, 'OF SF ZF PF')).toBe(0);
  });

  it('aas with a low nibble above 9: AX -= 6, AH -= 1', () => {
    const m = exec('3f', { eax: 0x020b });
    expect(m.eax & 0xffff).toBe(0x0105);
    expect(flagsOf(m, 'OF SF ZF PF')).toBe(fl('CF AF'));
  });

  it('aas after 02h - 05h (AF set) borrows from AH', () => {
    const m = exec('2c 05 3f', { eax: 0x0002 });
    expect(m.eax & 0xffff).toBe(0xff07);
    expect(flagsOf(m, 'OF SF ZF PF')).toBe(fl('CF AF'));
  });
});

describe('AAM / AAD', () => {
  it('aam: AH ← AL / 10, AL ← AL mod 10; SF ZF PF from AL', () => {
    const m = exec('d4 0a', { eax: 0x4f });
    expect(m.eax & 0xffff).toBe(0x0709);
    expect(flagsOf(m, 'OF AF CF')).toBe(fl('PF'));
    const z = exec('d4 0a', { eax: 0x14 });
    expect(z.eax & 0xffff).toBe(0x0200);
    expect(flagsOf(z, 'OF AF CF')).toBe(fl('PF ZF'));
  });

  it('aam with another base (16)', () => {
    expect(exec('d4 10', { eax: 0x4f }).eax & 0xffff).toBe(0x040f);
  });

  it('aam 0 is #DE, a fault with AX unchanged', () => {
    const m = exec('d4 00', { eax: 0x1234 });
    expect(m.trap).toMatchObject({ vector: DE, faultEip: CODE, eip: CODE });
    expect(m.eax).toBe(0x1234);
  });

  it('aad: AL ← AL + AH × 10, AH ← 0', () => {
    const m = exec('d5 0a', { eax: 0x0709 });
    expect(m.eax & 0xffff).toBe(0x004f);
    expect(flagsOf(m, 'OF AF CF')).toBe(0);
  });

  it('aad with base 16, and a result that wraps to 0', () => {
    expect(exec('d5 10', { eax: 0x0403 }).eax & 0xffff).toBe(0x0043);
    const w = exec('d5 0a', { eax: 0xff0a });
    expect(w.eax & 0xffff).toBe(0x0000);
    expect(flagsOf(w, 'OF AF CF')).toBe(fl('PF ZF'));
  });
});
