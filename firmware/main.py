# Boot entry: the board file deployed as board.py says which pins and parts
# this token has; fob.app does the rest.
import board

from fob import app

app.main(board)
