import TesseraCommands

TesseraCommand.main()
