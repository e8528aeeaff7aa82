module cwcontract

go 1.19
