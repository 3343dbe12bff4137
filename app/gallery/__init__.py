"""The gallery: enrolled people, their face templates, and 1:1 / 1:N search against them."""
