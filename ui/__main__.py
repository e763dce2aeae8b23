import sys

from rag.cli import main

sys.exit(main(["chat", *sys.argv[1:]]))
