import { torchResnetVariant } from '../../models/torch-resnet.js';

export const torchResnet = torchResnetVariant({
  type: 'torch-resnet',
  doc:
    "The distillation seed's torchvision-style post-activation ResNet (16-32-64 channels, option-B downsampling, PyTorch " +
    "init, padding and BN) and its plain twin. Taps stem, layer1..3; `stages` lists each part's variables. FLOPs count " +
    'convs (downsampling included where computed) and the FC.',
  variant: 'resnet20',
});
