"""Readers of the files twin takes in: weather (EPW, TMY3), grid CSVs, rack PDU CSVs and GPU traces.
Each returns arrays or frames on twin's axes and raises an InputError naming the file, line and field."""
