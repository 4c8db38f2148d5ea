import { describe, expect, it } from 'vitest';
import { createGuest, entry, FIRST_DATA_PFN, L1_RO, L1_RW, TestHost, type Guest } from './testing.ts';
import { tryEmulatePtWrite, VMASST_TYPE_writable_pagetables } from './ptwr.ts';
import { X86 } from '../cpu/index.ts';
import * as P from '../mem/pte.ts';
import { writeBytes } from './guestmem.ts';

const CODE = 30; // pfn of the code page
const PF_WRITE = X86.PFEC_P | X86.PFEC_W;

/** A guest with writable page tables, `code` at the code page and EIP on it. */
function setup(code: number[]): Guest {
  const g = createGuest(new TestHost());
  g.d.vmAssist |= 1 << VMASST_TYPE_writable_pagetables;
  writeBytes(g.v, g.va(CODE), Uint8Array.from(code));
  g.v.cpu.eip = g.va(CODE);
  return g;
}

/** Linear address of the L1 entry for pfn, through the read-only mapping of the L1 (pfn 4). */
const pteVa = (g: Guest, pfn: number): number => g.va(4) + (pfn & 511) * 8;

describe('writable page tables (ptwr emulation)', () => {
  it('emulates mov [ebx], eax into an L1 entry, checked like mmu_update', () => {
    const g = setup([0x89, 0x03]); // mov [ebx], eax
    const a = FIRST_DATA_PFN + 5, b = FIRST_DATA_PFN + 6;
    const [lo] = entry(g.mfn(b), L1_RW);
    g.v.cpu.r32[X86.EBX] = pteVa(g, a);
    g.v.cpu.r32[X86.EAX] = lo;
    expect(() => g.w32(pteVa(g, a), lo)).toThrow(); // the direct store faults: the table is read-only
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), PF_WRITE)).toBe(true);
    expect(g.v.cpu.eip).toBe(g.va(CODE) + 2);
    expect(P.readEntry(g.host.mem, g.l1s[0]!, a)).toEqual([lo, 0]);
    expect(g.pt.typeCount(g.mfn(b))).toBe(2);
    expect(g.pt.typeCount(g.mfn(a))).toBe(0);
  });

  it('refuses to map a page table writable, and needs the vm_assist', () => {
    const g = setup([0x89, 0x03]);
    const a = FIRST_DATA_PFN + 5;
    g.v.cpu.r32[X86.EBX] = pteVa(g, a);
    g.v.cpu.r32[X86.EAX] = entry(g.l3, L1_RW)[0];
    const before = P.readEntry(g.host.mem, g.l1s[0]!, a);
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), PF_WRITE)).toBe(false);
    expect(P.readEntry(g.host.mem, g.l1s[0]!, a)).toEqual(before);
    expect(g.v.cpu.eip).toBe(g.va(CODE));
    g.v.cpu.r32[X86.EAX] = entry(g.mfn(a), L1_RO)[0];
    g.d.vmAssist = 0;
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), PF_WRITE)).toBe(false);
    g.d.vmAssist = 1 << VMASST_TYPE_writable_pagetables;
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), X86.PFEC_W)).toBe(false); // not-present fault
    expect(tryEmulatePtWrite(g.v, g.va(FIRST_DATA_PFN + 9), PF_WRITE)).toBe(false); // not a table
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), PF_WRITE)).toBe(true);
  });

  it('cmpxchg8b writes a whole entry; a failed compare loads EDX:EAX', () => {
    const g = setup([0xf0, 0x0f, 0xc7, 0x0e]); // lock cmpxchg8b [esi]
    const a = FIRST_DATA_PFN + 5;
    const cpu = g.v.cpu;
    const [olo, ohi] = P.readEntry(g.host.mem, g.l1s[0]!, a);
    const [nlo] = entry(g.mfn(a), L1_RO);
    cpu.r32[X86.ESI] = pteVa(g, a);
    cpu.r32[X86.EAX] = olo;
    cpu.r32[X86.EDX] = ohi;
    cpu.r32[X86.EBX] = nlo;
    cpu.r32[X86.ECX] = 0x80000000; // NX
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), PF_WRITE)).toBe(true);
    expect(P.readEntry(g.host.mem, g.l1s[0]!, a)).toEqual([nlo, 0x80000000]);
    expect(cpu.getFlags() & X86.ZF).toBe(X86.ZF);
    expect(g.pt.typeCount(g.mfn(a))).toBe(0); // now mapped read-only
    // Again with a stale comparand: no write, EDX:EAX get the current entry, ZF clear.
    cpu.eip = g.va(CODE);
    cpu.r32[X86.EAX] = 1;
    cpu.r32[X86.EBX] = 0;
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), PF_WRITE)).toBe(true);
    expect([cpu.r32[X86.EAX]! >>> 0, cpu.r32[X86.EDX]! >>> 0]).toEqual([nlo, 0x80000000]);
    expect(cpu.getFlags() & X86.ZF).toBe(0);
    expect(P.readEntry(g.host.mem, g.l1s[0]!, a)).toEqual([nlo, 0x80000000]);
  });

  it('an upper half written first lands with PRESENT cleared; then the lower half', () => {
    const g = setup([0x89, 0x43, 0x04, 0x89, 0x03]); // mov [ebx+4], eax; mov [ebx], eax
    const a = FIRST_DATA_PFN + 5;
    const cpu = g.v.cpu;
    cpu.r32[X86.EBX] = pteVa(g, a);
    cpu.r32[X86.EAX] = 0x80000000; // NX in the high half, old low half still present
    const [olo] = P.readEntry(g.host.mem, g.l1s[0]!, a);
    // The merged entry (old low, new high) is valid here, so it simply lands.
    expect(tryEmulatePtWrite(g.v, pteVa(g, a) + 4, PF_WRITE)).toBe(true);
    expect(P.readEntry(g.host.mem, g.l1s[0]!, a)).toEqual([olo, 0x80000000]);
    // A high half naming a frame beyond memory: kept, but not present.
    cpu.eip = g.va(CODE);
    cpu.r32[X86.EAX] = 0x0000000f;
    expect(tryEmulatePtWrite(g.v, pteVa(g, a) + 4, PF_WRITE)).toBe(true);
    expect(P.readEntry(g.host.mem, g.l1s[0]!, a)).toEqual([(olo & ~1) >>> 0, 0xf]);
    expect(g.pt.typeCount(g.mfn(a))).toBe(0);
  });

  it('xchg clears an entry and returns the old one; btr clears RW', () => {
    const g = setup([0x87, 0x03, 0x0f, 0xba, 0x33, 0x01]); // xchg [ebx], eax; btr dword [ebx], 1
    const a = FIRST_DATA_PFN + 5, b = FIRST_DATA_PFN + 6;
    const cpu = g.v.cpu;
    const [olo] = P.readEntry(g.host.mem, g.l1s[0]!, a);
    cpu.r32[X86.EBX] = pteVa(g, a);
    cpu.r32[X86.EAX] = 0;
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), PF_WRITE)).toBe(true);
    expect(cpu.r32[X86.EAX]! >>> 0).toBe(olo);
    expect(P.readEntry(g.host.mem, g.l1s[0]!, a)).toEqual([0, 0]);
    cpu.r32[X86.EBX] = pteVa(g, b);
    expect(tryEmulatePtWrite(g.v, pteVa(g, b), PF_WRITE)).toBe(true);
    expect(cpu.eip).toBe(g.va(CODE) + 6);
    expect(P.readEntry(g.host.mem, g.l1s[0]!, b)[0] & P._PAGE_RW).toBe(0);
    expect(cpu.getFlags() & X86.CF).toBe(X86.CF);
    expect(g.pt.typeCount(g.mfn(b))).toBe(0);
  });

  it('does not emulate what it cannot: other instructions, misaligned or user-mode stores', () => {
    const g = setup([0x01, 0x03]); // add [ebx], eax
    const a = FIRST_DATA_PFN + 5;
    g.v.cpu.r32[X86.EBX] = pteVa(g, a);
    expect(tryEmulatePtWrite(g.v, pteVa(g, a), PF_WRITE)).toBe(false);
    const h = setup([0x89, 0x03]);
    h.v.cpu.r32[X86.EBX] = pteVa(h, a) + 2;
    expect(tryEmulatePtWrite(h.v, pteVa(h, a) + 2, PF_WRITE)).toBe(false);
    h.v.cpu.r32[X86.EBX] = pteVa(h, a);
    expect(tryEmulatePtWrite(h.v, pteVa(h, a) + 4096, PF_WRITE)).toBe(false); // not the faulting page
    h.v.cpu.setSegment(X86.CS, 0xe02b);
    expect(tryEmulatePtWrite(h.v, pteVa(h, a), PF_WRITE | X86.PFEC_U)).toBe(false);
  });
});
