/**
 * The MMU: PAE paging (SDM Vol. 3 §4.4), access rights (§4.6), #PF error codes and CR2 (§4.7),
 * accessed/dirty bits (§4.8), the TLB (§4.10: entries may be stale until INVLPG or a CR3
 * load), the dirty log (mem/machine.ts), self-modifying code, and page-crossing accesses.
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, PDPT, PTE_DEFAULT, TestMachine, exec, le32, type MachineOptions, type Setup } from './testing.ts';
import { GP, PFV } from './constants.ts';
import { HOT_THRESHOLD } from './translate.ts';

/** Test pages inside the identity map, away from code, data and tables. */
const P = 0x400000;
/** Physical frames outside the identity map, for remapping. */
const ALT = 0x900000;
const ALT2 = 0x901000;

const NX = 1n << 63n;
const entry = (pa: number, flags: number, hi = 0n): bigint => (BigInt(pa) | BigInt(flags)) | hi;

type Prep = (m: TestMachine) => void;
const read = (addr: number, setup: Setup = {}, opts: MachineOptions = {}, prep?: Prep) => exec('8b 03', { ebx: addr, eax: 0x5a5a5a5a, ...setup }, opts, prep);
const write = (addr: number, setup: Setup = {}, opts: MachineOptions = {}, prep?: Prep) => exec('89 03', { ebx: addr, eax: 0x12345678, ...setup }, opts, prep);
const fetch = (addr: number, setup: Setup = {}, opts: MachineOptions = {}, prep?: Prep) => exec('ff e3', { ebx: addr, ...setup }, opts, prep);

describe('PAE walk', () => {
  it('identity map: linear = physical', () => {
    const m = read(P + 0x124, {}, {}, (t) => t.write32(P + 0x124, 0xfeedface));
    expect(m.eax).toBe(0xfeedface);
  });

  it('a 4 KiB page maps anywhere, through a second PDPT entry and PD', () => {
    const va = 0x40000000 + 0x123000;
    const m = read(va + 0x10, {}, {}, (t) => {
      t.map(va, ALT);
      t.write32(ALT + 0x10, 0xabad1dea);
    });
    expect(m.eax).toBe(0xabad1dea);
  });

  it('a 2 MiB page: PDE.PS with the frame from bits 35:21', () => {
    const m = read(0x800000 + 0x1234, {}, {}, (t) => {
      t.write64(t.pdeAddr(0x800000), entry(0xc00000, 0xe7));
      t.write32(0xc01234, 0x22222222);
    });
    expect(m.eax).toBe(0x22222222);
  });

  it('a frame above 4 GiB is reachable through the PTE high bits (36-bit physical)', () => {
    const big = new TestMachine();
    // Frame 0x1_0000_0000 would need 4 GiB of machine memory; check only that the walk asks for
    // it: MachineMemory (64 MiB here) refuses it with a machine check (#MC), not a wrong frame.
    big.load(CODE, '8b 03 cc').set({ eip: CODE, ebx: P });
    big.write64(big.pteAddr(P), entry(0, PTE_DEFAULT, 1n << 32n));
    big.run();
    expect(big.trap?.vector).toBe(18);
  });
});

describe('paging off, and turning it on', () => {
  it('with CR0.PG clear, linear = physical for every ring and any address', () => {
    const m = exec(['8b 03', '89 0b'], { ebx: 0x10, ecx: 0xfeed, cpl: 3 }, { paging: false }, (t) => t.write32(0x10, 0x1234));
    expect(m.completed).toBe(true);
    expect([m.eax, m.read32(0x10)]).toEqual([0x1234, 0xfeed]);
  });

  it('setting CR0.PG takes effect at the next instruction', () => {
    // Tables are built, paging is then switched off; the program switches it back on and
    // reads P, which the tables map to ALT: before, it reads P's own frame.
    const m = new TestMachine();
    m.map(P, ALT);
    m.write32(P, 0x0ff);
    m.write32(ALT, 0x0aa);
    m.cpu.setCr0(0x1); // PE only
    // mov ebx,[P]; mov eax,cr0; or eax,80000000h; mov cr0,eax; mov ecx,[P]; int3
    m.load(CODE, `8b 1d ${le32(P)} 0f 20 c0 0d 00 00 00 80 0f 22 c0 8b 0d ${le32(P)} cc`);
    m.set({ eip: CODE }).run();
    expect(m.trap?.vector).toBe(3);
    expect([m.ebx, m.ecx]).toEqual([0x0ff, 0x0aa]);
  });
});

describe('#PF error codes and CR2 (SDM Vol. 3 §4.7)', () => {
  const notPresent: Prep = (t) => t.setPte(P, 0);
  const supervisorPage: Prep = (t) => t.map(P, P, PTE_DEFAULT & ~4);
  const readOnlyPage: Prep = (t) => t.map(P, P, PTE_DEFAULT & ~2);
  const reservedBit: Prep = (t) => t.setPte(P, entry(P, PTE_DEFAULT, 1n << 36n));

  const cases: [string, () => TestMachine, number][] = [
    ['ring 0 read, not present', () => read(P + 8, {}, {}, notPresent), 0],
    ['ring 0 write, not present', () => write(P + 8, {}, {}, notPresent), 2],
    ['ring 3 read, not present', () => read(P + 8, { cpl: 3 }, {}, notPresent), 4],
    ['ring 3 write, not present', () => write(P + 8, { cpl: 3 }, {}, notPresent), 6],
    ['ring 3 read of a supervisor page', () => read(P + 8, { cpl: 3 }, {}, supervisorPage), 5],
    ['ring 3 write to a supervisor page', () => write(P + 8, { cpl: 3 }, {}, supervisorPage), 7],
    ['ring 3 write to a read-only user page', () => write(P + 8, { cpl: 3 }, {}, readOnlyPage), 7],
    ['ring 3 write to a read-only page with CR0.WP = 0', () => write(P + 8, { cpl: 3 }, { wp: false }, readOnlyPage), 7],
    ['ring 0 write to a read-only page with CR0.WP = 1', () => write(P + 8, {}, {}, readOnlyPage), 3],
    ['ring 1 write to a read-only page with CR0.WP = 1', () => write(P + 8, { cpl: 1 }, {}, readOnlyPage), 3],
    ['ring 0 read, reserved bit 36 in the PTE', () => read(P + 8, {}, {}, reservedBit), 9],
    ['ring 0 write, reserved bit in the PTE', () => write(P + 8, {}, {}, reservedBit), 0xb],
    ['ring 3 read, reserved bit in the PTE', () => read(P + 8, { cpl: 3 }, {}, reservedBit), 0xd],
    ['ring 0 read, NX bit set while EFER.NXE = 0 (reserved)', () => read(P + 8, {}, {}, (t) => t.setPte(P, entry(P, PTE_DEFAULT, NX))), 9],
    ['ring 0 read, reserved bit 13 in a 2 MiB PDE', () => read(0x800008, {}, {}, (t) => t.write64(t.pdeAddr(0x800000), entry(0xc00000, 0xe7 | 0x2000))), 9],
    ['ring 0 read through a not-present PDPTE', () => read(0xc0000008), 0],
    ['ring 0 write, PDE read-only (PTE writable)', () => write(P + 8, {}, {}, (t) => t.write64(t.pdeAddr(P), (t.read64(t.pdeAddr(P)) & ~2n))), 3],
    ['ring 3 read, PDE supervisor (PTE user)', () => read(P + 8, { cpl: 3 }, {}, (t) => t.write64(t.pdeAddr(P), (t.read64(t.pdeAddr(P)) & ~4n))), 5],
    ['ring 0 fetch, NX page (EFER.NXE = 1)', () => fetch(P, {}, { nx: true }, (t) => t.setPte(P, entry(P, PTE_DEFAULT, NX))), 0x11],
    ['ring 3 fetch, NX user page', () => fetch(P, { cpl: 3 }, { nx: true }, (t) => t.setPte(P, entry(P, PTE_DEFAULT, NX))), 0x15],
    ['ring 0 fetch, not present, EFER.NXE = 1', () => fetch(P, {}, { nx: true }, notPresent), 0x10],
    ['ring 0 fetch, not present, EFER.NXE = 0 (no I/D bit)', () => fetch(P, {}, {}, notPresent), 0],
    ['ring 3 fetch from a supervisor page', () => fetch(P, { cpl: 3 }, {}, supervisorPage), 5],
  ];

  for (const [name, run, code] of cases) {
    it(`${name}: error code ${code.toString(16)}`, () => {
      const m = run();
      const t = m.trap!;
      expect(t.vector).toBe(PFV);
      expect(t.errorCode).toBe(code);
      const isFetch = m.read8(CODE) === 0xff;
      // Data accesses fault at the MOV with CR2 = the address; a fetch faults at the jump target.
      const target = m.reg('ebx');
      expect(t.cr2).toBe(target);
      expect(t.faultEip).toBe(isFetch ? target : CODE);
      expect(t.eip).toBe(t.faultEip);
      if (!isFetch) expect(m.eax).toBe(m.read8(CODE) === 0x8b ? 0x5a5a5a5a : 0x12345678); // not written
    });
  }

  it('ring 0 write to a read-only page with CR0.WP = 0 succeeds', () => {
    const m = write(P + 8, {}, { wp: false }, readOnlyPage);
    expect(m.completed).toBe(true);
    expect(m.read32(P + 8)).toBe(0x12345678);
  });

  it('NX pages are still readable', () => {
    const m = read(P, {}, { nx: true }, (t) => {
      t.setPte(P, entry(P, PTE_DEFAULT, NX));
      t.write32(P, 77);
    });
    expect(m.eax).toBe(77);
  });

  it('the embedder can map the page in its #PF handler and resume (demand paging)', () => {
    const m = read(P + 4, {}, {}, (t) => {
      t.setPte(P, 0);
      t.write32(ALT + 4, 0x600d);
      t.onTrap = (trap, tm) => {
        if (trap.vector !== PFV) return 'halt';
        tm.map(trap.cr2, ALT);
        return 'resume';
      };
    });
    expect(m.completed).toBe(true);
    expect(m.eax).toBe(0x600d);
    expect(m.traps.map((t) => t.vector)).toEqual([PFV, 3]);
  });
});


describe('accessed and dirty bits (SDM Vol. 3 §4.8)', () => {
  const clearAD: Prep = (t) => {
    t.map(P, P, PTE_DEFAULT & ~0x60);
    t.write64(t.pdeAddr(P), t.read64(t.pdeAddr(P)) & ~0x60n);
  };

  it('a read sets A in the PDE and the PTE, not D', () => {
    const m = read(P, {}, {}, clearAD);
    expect(Number(m.pte(P) & 0x60n)).toBe(0x20);
    expect(Number(m.read64(m.pdeAddr(P)) & 0x20n)).toBe(0x20);
  });

  it('a write sets A and D in the PTE', () => {
    const m = write(P, {}, {}, clearAD);
    expect(Number(m.pte(P) & 0x60n)).toBe(0x60);
  });

  it('a write after a read (TLB already filled, D still clear) sets D', () => {
    const m = exec(['8b 03', '89 03'], { ebx: P }, {}, clearAD);
    expect(Number(m.pte(P) & 0x60n)).toBe(0x60);
  });

  it('a write to a 2 MiB page sets A and D in the PDE', () => {
    const m = write(0x800010, {}, {}, (t) => t.write64(t.pdeAddr(0x800000), entry(0xc00000, 0x87)));
    expect(Number(m.read64(m.pdeAddr(0x800000)) & 0x60n)).toBe(0x60);
    expect(m.read32(0xc00010)).toBe(0x12345678);
  });

  it('a faulting access sets no bit', () => {
    const m = write(P, { cpl: 3 }, {}, (t) => t.map(P, P, (PTE_DEFAULT & ~0x60) & ~2));
    expect(m.trap?.vector).toBe(PFV);
    expect(Number(m.pte(P) & 0x40n)).toBe(0);
  });
});

describe('the TLB is stale until INVLPG or a CR3 load, as on hardware', () => {
  // mov eax,[P]; int 80h (the embedder remaps P to ALT); mov ebx,[P]; <flush>; mov ecx,[P]
  const run = (flush: string): TestMachine =>
    exec([`a1 ${le32(P)}`, 'cd 80', `8b 1d ${le32(P)}`, flush, `8b 0d ${le32(P)}`], {}, {}, (t) => {
      t.write32(P, 0x01d);
      t.write32(ALT, 0x2e3);
      t.onTrap = (trap, tm) => {
        if (trap.vector !== 0x80) return 'halt';
        tm.map(P, ALT);
        return 'resume';
      };
    });

  it('invlpg', () => {
    const m = run(`0f 01 3d ${le32(P)}`);
    expect([m.eax, m.ebx, m.ecx]).toEqual([0x01d, 0x01d, 0x2e3]);
  });

  it('mov cr3 reload', () => {
    const m = run('0f 20 de 0f 22 de'); // mov esi,cr3; mov cr3,esi
    expect([m.eax, m.ebx, m.ecx]).toEqual([0x01d, 0x01d, 0x2e3]);
  });

  it('a PTE written by the guest itself is not seen before INVLPG either', () => {
    // mov eax,[P]; mov [pte],edx (remap P to ALT); mov ebx,[P]; invlpg [P]; mov ecx,[P]
    const m = new TestMachine();
    const pte = m.pteAddr(P);
    m.write32(P, 1);
    m.write32(ALT, 2);
    m.load(CODE, [`a1 ${le32(P)}`, `89 15 ${le32(pte)}`, `8b 1d ${le32(P)}`, `0f 01 3d ${le32(P)}`, `8b 0d ${le32(P)}`, 'cc'].join(' '));
    m.set({ eip: CODE, edx: ALT | PTE_DEFAULT }).run();
    expect([m.eax, m.ebx, m.ecx]).toEqual([1, 1, 2]);
  });

  it('supervisor entries do not grant user access (per-privilege tags)', () => {
    // Ring 0 reads the supervisor page (filling the TLB), then the embedder drops to ring 3.
    const m = exec([`a1 ${le32(P)}`, 'cd 80', `8b 1d ${le32(P)}`], {}, {}, (t) => {
      t.map(P, P, PTE_DEFAULT & ~4);
      t.onTrap = (trap, tm) => {
        if (trap.vector !== 0x80) return 'halt';
        tm.set({ cpl: 3 });
        return 'resume';
      };
    });
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 5, cr2: P, faultEip: CODE + 7 });
  });

  it('code: a remapped code page runs the new code after INVLPG', () => {
    const m = new TestMachine();
    const va = 0x600000;
    m.load(ALT, 'b8 01 00 00 00 cc');
    m.load(ALT2, 'b8 02 00 00 00 cc');
    m.map(va, ALT);
    m.set({ eip: va }).run();
    expect(m.eax).toBe(1);
    m.map(va, ALT2);
    m.cpu.mmu.invlpg(va);
    m.set({ eip: va }).run();
    expect(m.eax).toBe(2);
  });
});

describe('MOV CR3 with invalid PDPTEs', () => {
  it('raises #GP(0)', () => {
    const m = exec('0f 22 d8', { eax: 0x780000 }, {}, (t) => {
      t.write64(0x780000, BigInt(t.read64(PDPT)));
      t.write64(0x780008, 0x781000n | 3n); // bit 1 (R/W) is reserved in a PAE PDPTE
    });
    expect(m.trap).toMatchObject({ vector: GP, errorCode: 0, faultEip: CODE, eip: CODE });
  });

  // A fault leaves the processor state as it was before the instruction. Regression (fixed in
  // 040df64): Cpu.setCr3 stored the new CR3 before Mmu.loadCr3 validated the PDPTEs.
  it('leaves CR3 unchanged when it faults', () => {
    const m = exec('0f 22 d8', { eax: 0x780000 }, {}, (t) => {
      t.write64(0x780000, BigInt(t.read64(PDPT)));
      t.write64(0x780008, 0x781000n | 3n);
    });
    expect(m.trap?.vector).toBe(GP);
    expect(m.cpu.cr3).toBe(PDPT);
  });
});

describe('dirty logging (MachineMemory.startDirtyLog / collectDirty)', () => {
  const W1 = 0x410000, W2 = 0x420000, R3 = 0x430000;
  const frame = (a: number): number => a >>> 12;
  // mov [W1],eax; mov [W2],eax; mov [W2+4],eax; mov ecx,[R3]; int3
  const writer = [`a3 ${le32(W1)}`, `a3 ${le32(W2)}`, `a3 ${le32(W2 + 4)}`, `8b 0d ${le32(R3)}`, 'cc'].join(' ');

  it('reports exactly the frames the CPU wrote since the reset, then starts afresh', () => {
    const m = new TestMachine();
    m.load(CODE, writer);
    m.load(CODE + 0x100, `a3 ${le32(W2)} cc`);
    m.set({ eip: CODE }).run(); // warm the TLB (fast write paths) before logging starts
    m.mem.startDirtyLog();
    m.set({ eip: CODE }).run();
    expect(m.mem.collectDirty().sort()).toEqual([frame(W1), frame(W2)]);
    expect(m.mem.collectDirty()).toEqual([]);
    m.set({ eip: CODE + 0x100 }).run();
    expect(m.mem.collectDirty()).toEqual([frame(W2)]);
    m.set({ eip: CODE }).run();
    expect(m.mem.collectDirty().sort()).toEqual([frame(W1), frame(W2)]);
  });

  it('collecting a subset leaves the others logged', () => {
    const m = new TestMachine();
    m.load(CODE, writer);
    m.mem.startDirtyLog();
    m.set({ eip: CODE }).run();
    expect(m.mem.collectDirty([frame(W1), frame(R3)])).toEqual([frame(W1)]);
    expect(m.mem.collectDirty()).toEqual([frame(W2)]);
  });

  it('setting a PTE dirty bit is a CPU write to the page-table frame', () => {
    const m = new TestMachine();
    m.load(CODE, writer);
    m.map(W1, W1, PTE_DEFAULT & ~0x40);
    const ptFrame = frame(m.pteAddr(W1));
    m.mem.startDirtyLog();
    m.set({ eip: CODE }).run();
    expect(m.mem.collectDirty().sort((a, b) => a - b)).toEqual([frame(W1), frame(W2), ptFrame].sort((a, b) => a - b));
  });

  it('a write that crosses into a second page logs both', () => {
    const m = new TestMachine();
    m.load(CODE, `a3 ${le32(W1 + 0xffe)} cc`);
    m.mem.startDirtyLog();
    m.set({ eip: CODE }).run();
    expect(m.mem.collectDirty().sort()).toEqual([frame(W1), frame(W1) + 1]);
  });
});

describe('self-modifying code', () => {
  it('a store into the next instruction of the same block executes the new bytes', () => {
    // mov byte [CODE+8],2Ah (the imm of the following mov); mov eax,1
    const m = exec([`c6 05 ${le32(CODE + 8)} 2a`, 'b8 01 00 00 00'], {});
    expect(m.completed).toBe(true);
    expect(m.eax).toBe(0x2a);
  });

  it('a loop that patches its own instruction on every iteration', () => {
    // L: mov eax,imm32; add ebx,eax; inc dword [L+1]; dec ecx; jnz L
    const m = exec(['b8 00 00 00 00', '01 c3', `ff 05 ${le32(CODE + 1)}`, '49', '75 f0'], { ecx: 100, ebx: 0 });
    expect(m.completed).toBe(true);
    expect(m.ebx).toBe((100 * 99) / 2);
  });

  it('a hot (translated) loop patched once runs the new code', () => {
    expect(50).toBeGreaterThan(HOT_THRESHOLD);
    const m = exec([
      'b8 01 00 00 00', // 0  L: mov eax,1
      '01 c3', //          5     add ebx,eax
      '49', //             7     dec ecx
      '75 f6', //          8     jnz L
      '4a', //             10    dec edx
      '74 0e', //          11    jz end
      `c7 05 ${le32(CODE + 1)} 64 00 00 00`, // 13 mov dword [L+1],100
      'b1 32', //          23    mov cl,50
      'eb e5', //          25    jmp L
    ], { ecx: 50, edx: 2, ebx: 0 });
    expect(m.completed).toBe(true);
    expect(m.ebx).toBe(50 + 50 * 100);
  });

  it('a store through another linear alias of the code frame invalidates it too', () => {
    // Alias VA 0x600000 → the CODE frame. mov byte [alias+0Ch],2Ah; mov eax,1 (imm at CODE+0Ch)
    const m = exec([`c6 05 ${le32(0x600000 + 0x0c)} 2a`, '90 90 90 90', 'b8 01 00 00 00'], {}, {}, (t) => t.map(0x600000, CODE));
    expect(m.eax).toBe(0x2a);
  });

  it('a write by a device (machine memory, not the CPU) invalidates decoded code', () => {
    const m = exec('b8 01 00 00 00', {});
    expect(m.eax).toBe(1);
    m.load(CODE, 'b8 02 00 00 00 cc');
    m.set({ eip: CODE }).run();
    expect(m.eax).toBe(2);
  });

  it('rep stosb over the rest of its own block', () => {
    // rep stosb writes 90h (NOP) over the "mov eax,1" that follows it.
    const m = exec(['f3 aa', 'b8 01 00 00 00'], { edi: CODE + 2, ecx: 5, eax: 0x90 });
    expect(m.completed).toBe(true);
    expect(m.eax).toBe(0x90);
  });
});

describe('page-crossing instructions and accesses', () => {
  const SPLIT = 0x401000; // the boundary
  it('an instruction straddling two pages mapped to unrelated frames', () => {
    const m = new TestMachine();
    m.map(SPLIT, ALT);
    m.load(SPLIT - 2, 'b8 78'); // mov eax, imm32: opcode and first imm byte before the boundary
    m.load(ALT, '56 34 12 cc');
    m.set({ eip: SPLIT - 2 }).run();
    expect(m.trap).toMatchObject({ vector: 3, faultEip: SPLIT + 3 });
    expect(m.eax).toBe(0x12345678);
  });

  it('its second page not present: #PF on the fetch, EIP at the instruction, CR2 in the second page', () => {
    const m = new TestMachine({ nx: true });
    m.setPte(SPLIT, 0);
    m.load(SPLIT - 2, 'b8 78');
    m.set({ eip: SPLIT - 2, eax: 7 }).run();
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 0x10, faultEip: SPLIT - 2, eip: SPLIT - 2 });
    expect(m.trap!.cr2 >>> 12).toBe(SPLIT >>> 12);
    expect(m.eax).toBe(7);
  });

  it('its second page NX: #PF with the I/D bit', () => {
    const m = new TestMachine({ nx: true });
    m.setPte(SPLIT, entry(SPLIT, PTE_DEFAULT, NX));
    m.load(SPLIT - 2, 'b8 78 56 34 12 cc');
    m.set({ eip: SPLIT - 2 }).run();
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 0x11, faultEip: SPLIT - 2 });
  });

  it('a block running into the next page continues there', () => {
    const m = new TestMachine();
    m.map(SPLIT, ALT);
    m.load(SPLIT - 2, '40 40'); // inc eax ×2, then the page ends
    m.load(ALT, '40 cc');
    m.set({ eip: SPLIT - 2, eax: 0 }).run();
    expect(m.eax).toBe(3);
  });

  it('dword and word reads across the boundary combine both frames', () => {
    const m = exec([`a1 ${le32(SPLIT - 2)}`, `66 8b 0d ${le32(SPLIT - 1)}`], {}, {}, (t) => {
      t.map(SPLIT, ALT);
      t.write16(SPLIT - 2, 0x2211);
      t.write16(ALT, 0x4433);
    });
    expect(m.eax).toBe(0x44332211);
    expect(m.ecx & 0xffff).toBe(0x3322);
  });

  it('a dword write across the boundary lands in both frames', () => {
    const m = exec(`a3 ${le32(SPLIT - 1)}`, { eax: 0x44332211 }, {}, (t) => t.map(SPLIT, ALT));
    expect(m.read8(SPLIT - 1)).toBe(0x11);
    expect(m.read32(ALT) & 0xffffff).toBe(0x443322);
  });

  it('a write whose second page is read-only faults before writing the first page', () => {
    const m = exec(`a3 ${le32(SPLIT - 2)}`, { eax: 0x44332211 }, {}, (t) => {
      t.map(SPLIT, SPLIT, PTE_DEFAULT & ~2);
      t.write16(SPLIT - 2, 0xeeee);
    });
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 3, faultEip: CODE });
    expect(m.trap!.cr2 >>> 12).toBe(SPLIT >>> 12);
    expect(m.read16(SPLIT - 2)).toBe(0xeeee);
  });

  it('a read whose second page is not present faults with CR2 in that page', () => {
    const m = exec(`a1 ${le32(SPLIT - 2)}`, { eax: 9 }, {}, (t) => t.setPte(SPLIT, 0));
    expect(m.trap).toMatchObject({ vector: PFV, errorCode: 0, faultEip: CODE });
    expect(m.trap!.cr2 >>> 12).toBe(SPLIT >>> 12);
    expect(m.eax).toBe(9);
  });
});
