"""What Axolotl's config means, in one place: the files it names and how it finds them."""
