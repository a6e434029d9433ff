from skillsubsidy.cli import main

main()
