"""The GANs (conditional CIFAR-10, faces): networks and trainer, the recipe flow, export and the
generator measures (classifier accuracy, Fréchet distance, two-sample test)."""
