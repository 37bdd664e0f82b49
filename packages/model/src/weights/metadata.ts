/** Safetensors metadata keys pmamba writes beside a model's tensors (the config key lives with the checkpoint code). */

/** The square image side the weights were trained at; `predict` uses it unless told otherwise. */
export const IMAGE_SIZE_KEY = 'pmamba.image_size';
