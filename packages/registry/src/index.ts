/**
 * @pmamba/registry: named models, their versions, the champion alias and the promotion gate —
 * on the artifact store, tfjs-free. (Being written.)
 */
export {};
