"""Training data: reading sources (folders, zips, CIFAR pickles) into cached uint8 arrays, the seeded
split, augmentations, the one preprocessing function, and the project's GAN samples as extra fakes."""
