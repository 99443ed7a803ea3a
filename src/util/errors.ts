/** A failure whose message is complete advice for the user (a missing dataset): printed as is, never as an internal error. */
export class EpsilabError extends Error {
  override name = 'EpsilabError';
}
