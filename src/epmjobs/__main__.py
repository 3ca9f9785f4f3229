from epmjobs.cli import main

main()
