module gomapwatch/fixtures

go 1.19
