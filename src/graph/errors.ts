/** Thrown for a model definition that cannot be built; the message names the layer and the field. */
export class ModelSpecError extends Error {
  override readonly name: string = 'ModelSpecError';
}
