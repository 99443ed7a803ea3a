import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileImageSet, type DamagedPolicy } from './image-set.js';

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** Sorted names of the class sub-folders of `dir`. */
export function classFolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort();
}

/**
 * A class-per-sub-folder image set (the ImageNet / torchvision ImageFolder layout). Labels index `classes`
 * (the training split's sorted folder names, so every split agrees); files are listed sorted, decoded lazily.
 */
export function scanImageFolder(dir: string, classes: string[], channels: number, onDamaged: DamagedPolicy = 'stop'): FileImageSet {
  const files: string[] = [];
  const labels: number[] = [];
  for (const name of classFolders(dir)) {
    const label = classes.indexOf(name);
    if (label < 0) throw new Error(`${join(dir, name)}: class folder not among the training classes`);
    for (const file of readdirSync(join(dir, name)).sort()) {
      if (!IMAGE_FILE.test(file)) continue;
      files.push(join(dir, name, file));
      labels.push(label);
    }
  }
  if (files.length === 0) throw new Error(`${dir}: no JPEG or PNG images in class sub-folders`);
  return new FileImageSet(files, Int32Array.from(labels), channels, onDamaged);
}
