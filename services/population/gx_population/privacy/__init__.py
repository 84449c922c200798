"""Personal data protection: per-person data keys (crypto-shredding), field ciphers, de-identification."""
