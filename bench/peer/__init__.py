"""Side-by-side benchmark of our face verifier against ``face_recognition`` (dlib)."""
