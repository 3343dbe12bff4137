"""Offline training: AM-Softmax ResNet18 on labelled face folders, evaluation and export."""
