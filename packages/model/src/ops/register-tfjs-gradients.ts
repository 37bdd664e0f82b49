// The main bundle must load first: the first copy to load defines the shared Tensor class, and
// only the main bundle also sets the op handler its methods use (`clone`, which AddN's gradient
// calls, fails on a null handler when a program imports @pmamba/model before tfjs-core).
import '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { registerReduceGradients } from './reduce-gradients.ts';

/*
 * Side-effect module: registers tfjs-core's gradients and chained tensor methods (`x.add(y)`).
 *
 * Node resolves `@tensorflow/tfjs-core` to its `tf-core.node.js` bundle, which registers neither:
 * the umbrella `@tensorflow/tfjs` package normally imports them, and we depend on tfjs-core alone.
 * Without this, `tf.grad` of anything fails ("gradient function not found for RealDiv") and
 * `tensor.sum()` is not a function.
 *
 * The two registration files live in tfjs-core's ESM build, whose extensionless relative imports
 * only tsx's resolver understands (as plain Node ESM they fail), hence `require` under tsx. They
 * load a second copy of tfjs-core's modules, which is safe: the engine, the kernel and gradient
 * registries and the Tensor class are process globals that every copy shares.
 * Sum's and Mean's gradients are then replaced by faster ones of the same values (reduce-gradients.ts).
 */
const require = createRequire(import.meta.url);
require('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js');
require('@tensorflow/tfjs-core/dist/register_all_gradients.js');
registerReduceGradients();
