// Registers the libtorch backend in a process of its own (OpenMP reads its settings once, when libtorch loads) and
// prints the threads it got and the registration line, as one JSON line.
import { registerLibtorchBackend } from '../../src/backends/libtorch/index.js';
import { loadAddon } from '../../src/backends/libtorch/addon.js';

const registered = await registerLibtorchBackend();
const threads = loadAddon().addon?.configure({}).threads ?? 0;
console.log(JSON.stringify({ threads, why: registered.why }));
