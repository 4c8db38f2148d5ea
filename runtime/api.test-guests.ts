/**
 * Tiny PV kernels built in memory for tests of the Hypervisor API, its server and the CLI:
 * they need only console_io and sched_op (no page-table hypercalls), so they exercise the
 * lifecycle plumbing on their own. One PT_LOAD segment at 0xC0000000 (code at +0, the
 * hypercall page at +0x1000, data at +0x2000) and the Xen ELF notes of xen/include/public/
 * elfnote.h. Hypercalls go through `int 0x82` (EAX = number, EBX, ECX, EDX = arguments).
 */
import { XEN_ELFNOTE as N } from './boot/notes.ts';

const BASE = 0xc0000000;
const DATA = BASE + 0x2000;

export type TestGuestEnd = 'poweroff' | 'reboot' | 'crash' | 'watchdog' | 'block' | 'spin' | 'fault';

const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const SHUTDOWN_CODE: Record<string, number> = { poweroff: 0, reboot: 1, crash: 3, watchdog: 4 };

/** A kernel that writes `message` with console_io, then ends as `end` says. */
export function testGuest(message: string, end: TestGuestEnd): Uint8Array {
  const msg = Buffer.from(message, 'latin1');
  const code: number[] = [
    0xb8, ...le32(18), // mov eax, __HYPERVISOR_console_io
    0xbb, ...le32(0), // mov ebx, CONSOLEIO_write
    0xb9, ...le32(msg.length), // mov ecx, len
    0xba, ...le32(DATA + 4), // mov edx, msg
    0xcd, 0x82, // int 0x82
  ];
  if (end in SHUTDOWN_CODE) {
    code.push(0xb8, ...le32(29), 0xbb, ...le32(2), 0xb9, ...le32(DATA), 0xcd, 0x82); // sched_op(SCHEDOP_shutdown, &reason)
    code.push(0xeb, 0xfe); // jmp $ (never reached)
  } else if (end === 'block') {
    code.push(0xb8, ...le32(29), 0xbb, ...le32(1), 0xcd, 0x82, 0xeb, 0xf2); // loop: sched_op(SCHEDOP_block)
  } else if (end === 'spin') {
    code.push(0xeb, 0xfe);
  } else {
    code.push(0xa3, ...le32(0), 0xeb, 0xfe); // mov [0], eax: #PF with no trap table
  }
  const image = new Uint8Array(0x3000);
  image.set(code, 0);
  image.fill(0xcc, 0x1000, 0x2000); // the builder fills the hypercall page
  image.set(le32(SHUTDOWN_CODE[end] ?? 0), 0x2000);
  image.set(msg, 0x2004);
  return elf(image);
}

function elf(image: Uint8Array): Uint8Array {
  const str = (t: number, s: string) => note(t, Buffer.from(s + '\0', 'latin1'));
  const num = (t: number, v: number) => note(t, Uint8Array.from(le32(v)));
  const notes = Buffer.concat([
    str(N.GUEST_OS, 'xenoform-test'), str(N.XEN_VERSION, 'xen-3.0'), str(N.LOADER, 'generic'),
    num(N.VIRT_BASE, BASE), num(N.PADDR_OFFSET, BASE), num(N.ENTRY, BASE),
    num(N.HYPERCALL_PAGE, BASE + 0x1000), str(N.PAE_MODE, 'yes'),
  ]);
  const phoff = 52, imageAt = 0x1000, notesAt = imageAt + image.length;
  const ph = (type: number, off: number, vaddr: number, size: number, flags: number, align: number) =>
    [type, off, vaddr, vaddr, size, size, flags, align].flatMap(le32);
  const header = [
    0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0, 3, 0, ...le32(1), ...le32(BASE), ...le32(phoff), ...le32(0), ...le32(0),
    52, 0, 32, 0, 2, 0, 40, 0, 0, 0, 0, 0,
  ];
  const out = new Uint8Array(notesAt + notes.length);
  out.set(header, 0);
  out.set(ph(1, imageAt, BASE, image.length, 7, 0x1000), phoff);
  out.set(ph(4, notesAt, 0, notes.length, 4, 4), phoff + 32);
  out.set(image, imageAt);
  out.set(notes, notesAt);
  return out;
}

function note(type: number, desc: Uint8Array): Buffer {
  const pad = (b: Uint8Array) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const name = Buffer.from('Xen\0');
  return Buffer.concat([Buffer.from([...le32(name.length), ...le32(desc.length), ...le32(type)]), pad(name), pad(desc)]);
}
