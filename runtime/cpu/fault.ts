/** A fault or trap raised while executing an instruction; unwinds to the run loop. */
export class CpuFault {
  constructor(
    readonly vector: number,
    /** Error code, or -1 when the vector has none. */
    readonly errorCode: number,
    /** For #PF: the linear address (CR2). */
    readonly cr2 = 0,
  ) {}
}
