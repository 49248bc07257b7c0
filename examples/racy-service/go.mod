module gomapwatch/example

go 1.19
