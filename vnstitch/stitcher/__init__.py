"""stitcher package."""
