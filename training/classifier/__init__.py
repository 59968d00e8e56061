"""The CIFAR-10 classifier that measures the generators: network and export."""
