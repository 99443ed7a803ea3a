import type { Component, Kind } from './component.js';

/**
 * Every registered component, kind by kind. Explicit lists, not side-effect imports: adding a component means
 * importing its file here and adding it to its kind's array.
 */
export const COMPONENTS: { [K in Kind]: Component<K, any, any>[] } = {
  dataset: [],
  transform: [],
  model: [],
  optimizer: [],
  schedule: [],
  loss: [],
  distillation: [],
  callback: [],
};
