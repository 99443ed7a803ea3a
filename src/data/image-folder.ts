import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileImageSet, type DamagedPolicy } from './image-set.js';
import { InputError } from '../util/errors.js';

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** Sorted names of the class sub-folders of `dir`. */
export function classFolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort();
}

/**
 * Which order a split's images are listed in: `class` takes the class folders in sorted order and each folder's files
 * sorted; `name` sorts all files by file name across the class folders (class folder for equal names). ImageNet's
 * validation files are numbered in the order of its val.txt, which tensorpack's ILSVRC12 reads them in (classes mixed),
 * so `name` evaluates them in the original's order.
 */
export type FolderOrder = 'class' | 'name';

/**
 * A class-per-sub-folder image set (the ImageNet / torchvision ImageFolder layout). Labels index `classes`
 * (the training split's sorted folder names, so every split agrees); files are listed in `order`, decoded lazily.
 */
export function scanImageFolder(
  dir: string,
  classes: string[],
  channels: number,
  onDamaged: DamagedPolicy = 'stop',
  order: FolderOrder = 'class',
  dctScaling = true,
): FileImageSet {
  const found: { name: string; folder: string; label: number }[] = [];
  const layout = 'the layout is <split>/<class>/<image>.jpg|png';
  if (!classes.length) throw new InputError(`${dir}: no class folders (${layout})`);
  for (const folder of classFolders(dir)) {
    const label = classes.indexOf(folder);
    if (label < 0)
      throw new InputError(
        `${join(dir, folder)}: class folder not among the training classes (${classes.join(', ')}): every split has the training split's classes`,
      );
    const images = readdirSync(join(dir, folder))
      .sort()
      .filter((name) => IMAGE_FILE.test(name));
    if (!images.length)
      throw new InputError(
        `${join(dir, folder)}: class folder without JPEG or PNG images: add its images or remove the folder (${layout})`,
      );
    for (const name of images) found.push({ name, folder, label });
  }
  if (found.length === 0) throw new InputError(`${dir}: no class folders (${layout})`);
  // Array.prototype.sort is stable: equal names keep their class folders' order.
  if (order === 'name') found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files = found.map((f) => join(dir, f.folder, f.name));
  return new FileImageSet(
    files,
    Int32Array.from(found, (f) => f.label),
    channels,
    onDamaged,
    false,
    dctScaling,
  );
}
