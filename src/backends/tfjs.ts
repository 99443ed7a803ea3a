/**
 * The one TensorFlow.js namespace the project uses: tfjs-core with the cpu and wasm backends registered and the stock
 * gradients loaded. tfjs-core's Node build registers no gradients itself; @tensorflow/tfjs's Node build carries them
 * (registered into the same tfjs-core), so import tf from here, never tfjs-core alone, wherever something is trained.
 */
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
