/** Why a live migration failed or was refused, with the API's error code. */
export class MigrationError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}
