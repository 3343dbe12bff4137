"""The networks: ResNet18, custom layers, losses, distillation heads, dlib's ResNet."""
