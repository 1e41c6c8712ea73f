from modkit.cli import main

main()
