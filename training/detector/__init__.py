"""Binary detectors (cifake-cnn, cifake-patchgan, noise-discriminator): the shared fit loop, tuning,
fine-tuning from an exported model, calibration, and the train -> evaluate -> export flow."""
